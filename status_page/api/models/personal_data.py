"""Everything held about one customer, as the ops API exports it (GDPR Art. 15 and 20)."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import Field

from notifier.personal_data import PersonalData
from notifier.statuses import ChannelName, ConsentMethod, SignupKind, SuppressionReason
from notifier.tables import Customer
from status_page.api.models.access import AuditEntryOut
from status_page.api.models.common import Output
from status_page.api.models.inbox import InboxMessageOut
from status_page.api.models.notifications import DeliveryOut


class QuietHoursOut(Output):
    """Local times (in the customer's time zone) between which only urgent messages go."""

    start: time
    end: time


class CustomerRecordOut(Output):
    """The customer row, whole. Times are RFC 3339, in UTC."""

    id: str
    external_id: str
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    inapp_user_id: str | None
    locale: str
    time_zone: str
    quiet_hours: QuietHoursOut | None
    only_unresolved: bool
    channel_order: list[str] | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, customer: Customer) -> CustomerRecordOut:
        """From a ``Customer`` row."""
        quiet = None
        if customer.quiet_hours_start is not None and customer.quiet_hours_end is not None:
            quiet = QuietHoursOut(start=customer.quiet_hours_start, end=customer.quiet_hours_end)
        return cls(
            id=customer.id,
            external_id=customer.external_id or "",
            given_name=customer.given_name,
            family_name=customer.family_name,
            email=customer.email,
            phone=customer.phone,
            inapp_user_id=customer.inapp_user_id,
            locale=customer.locale,
            time_zone=customer.time_zone,
            quiet_hours=quiet,
            only_unresolved=customer.only_unresolved,
            channel_order=customer.channel_order,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class ConsentRecordOut(Output):
    """Consent for one channel: how, on what legal basis, and when given, confirmed, withdrawn."""

    channel: ChannelName
    method: ConsentMethod
    legal_basis: str
    created_at: datetime
    confirmed_at: datetime | None
    revoked_at: datetime | None


class FollowedOut(Output):
    """Something the customer follows: a component, or the whole page (null id and name)."""

    component_id: str | None
    component_name: str | None
    created_at: datetime


class SignupOut(Output):
    """A sign-up in flight for one of their addresses, or made from their manage link."""

    id: str
    kind: SignupKind
    channel: ChannelName
    address: str
    page: bool
    components: list[str]
    locale: str
    time_zone: str
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None = Field(description="When the confirmation message went out.")


class SuppressionOut(Output):
    """An address of theirs that we do not send to, and why."""

    channel: ChannelName
    address: str
    reason: SuppressionReason
    created_at: datetime


class OutboxMessageOut(Output):
    """A message the dev outbox kept instead of sending it: exactly what would have gone."""

    id: int
    delivery_id: int | None
    channel: ChannelName
    to: str
    subject: str
    body: str
    html: str
    created_at: datetime


class ProblemNamedOut(Output):
    """A delivery problem that names the customer."""

    id: str
    reference: str
    kind: str
    status: str
    title: str
    created_at: datetime
    resolved_at: datetime | None


class RatingPromptRecordOut(Output):
    """A rating prompt they were sent (or are due to be sent): how they were asked."""

    id: str
    subject_type: str
    subject_id: str
    scale: str
    channel: str
    status: str
    due_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    created_at: datetime


class RatingRecordOut(Output):
    """Their answer to a prompt: the latest score and comment, and the channel it came by."""

    prompt_id: str
    subject_type: str
    subject_id: str
    scale: str
    score: int
    comment: str | None
    channel: str
    created_at: datetime
    updated_at: datetime


class FollowUpRecordOut(Output):
    """A follow-up of one of their low ratings, and what ops noted they did."""

    id: str
    rating_prompt_id: str
    created_at: datetime
    done_at: datetime | None
    done_note: str | None


class ContactRecordOut(Output):
    """A contact of theirs with support, as a helpdesk recorded it."""

    id: str
    subject_type: str
    subject_id: str
    channel: str
    contacted_at: datetime
    external_id: str | None = Field(description="The helpdesk's own id of the ticket.")
    created_at: datetime


class PersonalDataOut(Output):
    """Everything Forewarn holds about one customer (GDPR Art. 15 and 20), each list oldest
    first. Times are RFC 3339, in UTC."""

    exported_at: datetime
    customer: CustomerRecordOut
    consents: list[ConsentRecordOut]
    follows: list[FollowedOut]
    signups: list[SignupOut] = Field(description="Sign-ups in flight for their addresses.")
    suppressions: list[SuppressionOut] = Field(description="Of their email and phone.")
    deliveries: list[DeliveryOut]
    inbox_messages: list[InboxMessageOut] = Field(description="Their in-app inbox.")
    outbox_messages: list[OutboxMessageOut] = Field(
        description="Messages the dev outbox kept for them (empty where providers send)."
    )
    delivery_problems: list[ProblemNamedOut]
    audit_log: list[AuditEntryOut] = Field(
        description="Changes made to their record through the ops API (field names, never values)."
    )
    rating_prompts: list[RatingPromptRecordOut]
    ratings: list[RatingRecordOut]
    follow_ups: list[FollowUpRecordOut] = Field(description="Of their low ratings.")
    contacts: list[ContactRecordOut] = Field(description="With support, as a helpdesk recorded.")

    @classmethod
    def from_record(cls, data: PersonalData, *, now: datetime) -> PersonalDataOut:
        """From ``notifier.personal_data.export``'s answer, exported at ``now``."""
        # A follow-up names its rating by row id, which the export does not show.
        prompts = {r.id: r.prompt_id for r in data.ratings}
        return cls(
            exported_at=now,
            customer=CustomerRecordOut.from_record(data.customer),
            consents=[ConsentRecordOut.model_validate(c) for c in data.consents],
            follows=[FollowedOut.model_validate(f) for f in data.follows],
            signups=[SignupOut.model_validate(s) for s in data.signups],
            suppressions=[SuppressionOut.model_validate(s) for s in data.suppressions],
            deliveries=[DeliveryOut.model_validate(d) for d in data.deliveries],
            inbox_messages=[InboxMessageOut.model_validate(m) for m in data.inbox],
            outbox_messages=[OutboxMessageOut.model_validate(m) for m in data.outbox],
            delivery_problems=[ProblemNamedOut.model_validate(p) for p in data.problems],
            audit_log=[AuditEntryOut.model_validate(e) for e in data.audit],
            rating_prompts=[RatingPromptRecordOut.model_validate(p) for p in data.prompts],
            ratings=[RatingRecordOut.model_validate(r) for r in data.ratings],
            follow_ups=[
                FollowUpRecordOut(
                    id=f.id,
                    rating_prompt_id=prompts[f.rating_id],
                    created_at=f.created_at,
                    done_at=f.done_at,
                    done_note=f.done_note,
                )
                for f in data.follow_ups
            ],
            contacts=[ContactRecordOut.model_validate(c) for c in data.contacts],
        )
