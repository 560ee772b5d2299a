"""Request bodies and queries for follow-ups of low ratings and for contacts a helpdesk
records (``notifier.care.follow_ups``, ``notifier.care.contacts``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from notifier.pagination import CURSOR
from notifier.schemas.common import Input, PageQuery
from notifier.schemas.fields import ExternalId, Instant, Limit, Matching, Name, Note, RecordId


class FollowUpStatus(StrEnum):
    """A follow-up is ``open`` until ops mark it ``done`` with a note."""

    open = "open"
    done = "done"


# A follow-up list's position: "o" (in the open ones) or "d" (in the done ones), then
# the last row's (created_at, id) as other cursors: open ones come first.
FOLLOW_UP_CURSOR = f"[od]{CURSOR}"
FollowUpCursor = Annotated[
    str,
    Matching(f"(?:{FOLLOW_UP_CURSOR})?", "not a cursor this API handed out"),
    Field(
        description="Pass a next_cursor given by the previous page; empty or left out: "
        "the first page."
    ),
]


class FollowUpQuery(Input):
    """A page of follow-ups: open ones first, each group newest first; ``status`` keeps
    one group."""

    limit: Limit = 20
    cursor: FollowUpCursor | None = None
    status: FollowUpStatus | None = None


class FollowUpDone(Input):
    """What was done about a follow-up (e.g. "Called them; they were happy with the refund")."""

    note: Note = Field(description="What was done, in a few lines of plain text.")


class ContactSubject(StrEnum):
    """What a customer contacted support about: an incident (or maintenance), a delivery
    problem, or a component (meaning the incident affecting it at ``contacted_at``)."""

    incident = "incident"
    problem = "problem"
    component = "component"


class ContactChannel(StrEnum):
    """How the customer reached support."""

    phone = "phone"
    email = "email"
    chat = "chat"
    social = "social"
    other = "other"


class ContactCreate(Input):
    """A customer contacted support about a subject, as the helpdesk recorded it."""

    customer: ExternalId = Field(description="The customer's external_id.")
    subject_type: ContactSubject
    subject_id: RecordId = Field(description="The incident, delivery problem or component id.")
    channel: ContactChannel
    contacted_at: Instant = Field(description="When they contacted support (RFC 3339).")
    external_id: Name | None = Field(
        default=None,
        description="The helpdesk's own id of the ticket. Sent again, it records nothing new "
        "and answers the contact recorded first (200).",
    )


class ContactQuery(PageQuery):
    """A page of contacts, newest recorded first, optionally about one subject."""

    subject_type: ContactSubject | None = None
    subject_id: RecordId | None = None
