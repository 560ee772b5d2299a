"""Bodies of the message template operations: an override, and a preview."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from notifier.events import Event
from notifier.schemas.common import Input
from notifier.schemas.fields import Body, ExternalId, RecordId
from notifier.statuses import ChannelName, Locale, TemplatePart

# Text as an update's body is (1 to 20,000 characters, line breaks and tabs allowed).
TemplateSource = Annotated[
    Body,
    Field(
        description="Jinja source. Variables: the event's context (see the built-in "
        "templates); per-recipient values as token('greeting'), token('manage_url'), "
        "token('unsubscribe_url'); filters markdown (HTML part) and plaintext.",
    ),
]


class TemplatePut(Input):
    """The source of an override; refused (422 naming `source`) when it does not compile,
    uses a variable its event does not give, or fails with the event's sample data."""

    source: TemplateSource


class TemplateSources(Input):
    """Unsaved sources to preview in place of the saved ones, per part."""

    email_subject: TemplateSource | None = None
    email_text: TemplateSource | None = None
    email_html: TemplateSource | None = None
    sms: TemplateSource | None = None

    def given(self) -> dict[TemplatePart, str]:
        """The parts given, by ``TemplatePart``."""
        return {
            TemplatePart(name): value for name, value in self.model_dump(exclude_none=True).items()
        }


class TemplatePreview(Input):
    """What to preview: one event's message on one channel (in-app: the email subject
    and the SMS text), in `locale` (default: the customer's, else en), for `customer`
    (your external id; default a sample one), with a real notification's data or samples."""

    event: Event
    channel: ChannelName
    locale: Locale | None = None
    customer: ExternalId | None = None
    notification_id: RecordId | None = None
    sources: TemplateSources | None = None
