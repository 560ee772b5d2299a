"""Follow-ups of low ratings and contacts recorded by a helpdesk, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.care.follow_ups import Opened
from notifier.scales import Scale, Subject
from notifier.schemas.care import ContactChannel, ContactSubject, FollowUpStatus
from notifier.statuses import ChannelName
from notifier.tables import Contact, Customer
from status_page.api.models.common import Output


class FollowUpCustomerOut(Output):
    """Who gave the rating, and how to reach them (null once they were erased)."""

    external_id: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    locale: str

    @classmethod
    def from_record(cls, customer: Customer) -> FollowUpCustomerOut:
        """From a ``Customer`` row."""
        return cls.model_validate(customer)


class FollowUpSubjectOut(Output):
    """What the rating was about: an incident, a maintenance or a delivery problem."""

    type: Subject
    id: str
    title: str = Field(description="The subject's title (a delivery problem's reference if none).")


class FollowUpOut(Output):
    """A low rating handed to a person: open until marked done with a note.

    Low is CSAT 1-2 (of 1-5), NPS 0-6 (of 0-10, a detractor), CES 1-3 (of 1-7). Score,
    comment and channel are the rating's latest (the customer may change them). Times are
    RFC 3339, in UTC.
    """

    id: str
    status: FollowUpStatus
    customer: FollowUpCustomerOut
    subject: FollowUpSubjectOut
    scale: Scale
    score: int
    comment: str | None = Field(description="Null if none was left, or once erased.")
    channel: ChannelName = Field(description="The channel the answer came by.")
    created_at: datetime
    alerted_at: datetime | None = Field(description="When ops on call were told of it.")
    done_at: datetime | None
    done_note: str | None
    done_by: str | None = Field(description="The name of the API key that marked it done.")

    @classmethod
    def from_record(cls, opened: Opened) -> FollowUpOut:
        """From ``notifier.care.follow_ups``' answer."""
        follow_up, rating = opened.follow_up, opened.rating
        return cls(
            id=follow_up.id,
            status=FollowUpStatus.open if follow_up.done_at is None else FollowUpStatus.done,
            customer=FollowUpCustomerOut.from_record(opened.customer),
            subject=FollowUpSubjectOut(
                type=Subject(rating.subject_type), id=rating.subject_id, title=opened.subject_title
            ),
            scale=Scale(rating.scale),
            score=rating.score,
            comment=rating.comment,
            channel=ChannelName(rating.channel),
            created_at=follow_up.created_at,
            alerted_at=follow_up.alerted_at,
            done_at=follow_up.done_at,
            done_note=follow_up.done_note,
            done_by=follow_up.done_by,
        )


class ContactOut(Output):
    """A customer's contact with support about a subject. Times are RFC 3339, in UTC."""

    id: str
    customer: str | None = Field(description="The customer's external_id (null once erased).")
    subject_type: ContactSubject
    subject_id: str
    channel: ContactChannel
    contacted_at: datetime
    external_id: str | None = Field(description="The helpdesk's own id of the ticket.")
    created_at: datetime

    @classmethod
    def from_record(cls, contact: Contact, customer_external_id: str | None) -> ContactOut:
        """From a ``Contact`` row and its customer's external_id."""
        return cls(
            id=contact.id,
            customer=customer_external_id,
            subject_type=ContactSubject(contact.subject_type),
            subject_id=contact.subject_id,
            channel=ContactChannel(contact.channel),
            contacted_at=contact.contacted_at,
            external_id=contact.external_id,
            created_at=contact.created_at,
        )
