"""Message templates and previews, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.delivery.message_templates import Template
from notifier.delivery.template_preview import Preview
from notifier.events import Event
from notifier.statuses import ChannelName, Locale, TemplatePart
from status_page.api.models.common import Output


class TemplateOut(Output):
    """One template: the source in use and the built-in one. In-app messages use the
    email_subject and sms parts. Times are RFC 3339, in UTC."""

    event: Event
    locale: Locale
    part: TemplatePart
    source: str = Field(description="The Jinja source in use: the override's, or the built-in.")
    builtin_source: str = Field(description="The built-in source, used when not overridden.")
    overridden: bool
    updated_at: datetime | None = Field(description="When overridden; null for a built-in.")
    updated_by: str | None = Field(description="The name of the API key that overrode it.")

    @classmethod
    def from_record(cls, template: Template) -> TemplateOut:
        """From a ``message_templates.Template``."""
        return cls.model_validate(template)


class SmsCost(Output):
    """What an SMS costs: segments billed, and the encoding (GSM-7: 160 or 153 characters
    a segment; UCS-2: 70 or 67)."""

    segments: int
    encoding: str = Field(description="GSM-7 or UCS-2.")


class PreviewOut(Output):
    """The message exactly as the recipient would get it, tokens substituted."""

    event: Event
    channel: ChannelName
    locale: Locale
    subject: str = Field(description="Email subject or in-app title; empty for SMS.")
    text: str = Field(description="The plain text part, SMS text or in-app body.")
    html: str = Field(description="The HTML part of an email; empty otherwise.")
    sms: SmsCost | None = Field(description="For SMS: segments and encoding; null otherwise.")

    @classmethod
    def from_preview(cls, preview: Preview, event: Event, channel: ChannelName) -> PreviewOut:
        """From a ``template_preview.Preview``."""
        sms = None
        if preview.sms_segments is not None and preview.sms_encoding is not None:
            sms = SmsCost(segments=preview.sms_segments, encoding=preview.sms_encoding)
        return cls(
            event=event,
            channel=channel,
            locale=preview.locale,
            subject=preview.subject,
            text=preview.text,
            html=preview.html,
            sms=sms,
        )
