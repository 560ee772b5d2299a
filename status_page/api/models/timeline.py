"""A customer's timeline, as the ops API answers it."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.statuses import ChannelName, DeliveryStatus
from notifier.timeline import Entry, Sent
from status_page.api.models.common import Output


class TimelineSubject(Output):
    """What the notification was about: an incident, a maintenance or a delivery problem."""

    id: str
    title: str | None = Field(
        description="The incident's or maintenance's title, a problem's title (else its "
        "reference); null if the subject was deleted."
    )


class TimelineUpdate(Output):
    """The update the notification told of. Times are RFC 3339, in UTC."""

    id: str
    status: str | None = Field(
        description="The update's status (an incident's, a maintenance's or a problem's); "
        "null if the update was deleted."
    )
    at: datetime | None = Field(description="When it was posted.")


class TimelineDelivery(Output):
    """How the notification went to the customer on one channel. Times are RFC 3339, UTC."""

    id: int
    channel: ChannelName
    status: DeliveryStatus
    last_error: str | None = Field(
        description="Why it failed, bounced, was parked or suppressed, as recorded: the "
        "provider's reason, or e.g. `address suppressed: stop`."
    )
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None = Field(
        description="When the in-app message was read; null while unread and on email and "
        "SMS (email opens are not tracked)."
    )

    @classmethod
    def from_record(cls, sent: Sent) -> TimelineDelivery:
        """From a ``notifier.timeline.Sent``."""
        d = sent.delivery
        return cls(
            id=d.id,
            channel=d.channel,
            status=d.status,
            last_error=d.last_error,
            attempts=d.attempts,
            created_at=d.created_at,
            sent_at=d.sent_at,
            delivered_at=d.delivered_at,
            read_at=sent.read_at,
        )


class TimelineRating(Output):
    """The customer's answer to a rating prompt (its latest score and comment)."""

    scale: str = Field(description="csat (1-5), nps (0-10) or ces (1-7).")
    score: int
    comment: str | None
    channel: ChannelName = Field(description="Where they answered.")
    at: datetime = Field(description="When they last answered (RFC 3339, UTC).")


class TimelineEntry(Output):
    """One notification the customer was part of, and each of its deliveries to them."""

    notification_id: str
    kind: str = Field(
        description="incident_update, maintenance_update, maintenance_reminder, "
        "problem_update or rating_prompt."
    )
    created_at: datetime = Field(description="When the notification was made (RFC 3339, UTC).")
    subject: TimelineSubject
    update: TimelineUpdate
    deliveries: list[TimelineDelivery] = Field(description="By channel.")
    rating: TimelineRating | None = Field(
        default=None,
        description="On a rating prompt (kind rating_prompt): the customer's answer; null "
        "while unanswered, and on every other kind.",
    )

    @classmethod
    def from_record(cls, entry: Entry) -> TimelineEntry:
        """From a ``notifier.timeline.Entry``."""
        n = entry.notification
        return cls(
            notification_id=n.id,
            kind=n.kind,
            created_at=n.created_at,
            subject=TimelineSubject(id=n.subject_id, title=entry.subject_title),
            update=TimelineUpdate(id=n.update_id, status=entry.update_status, at=entry.update_at),
            deliveries=[TimelineDelivery.from_record(s) for s in entry.deliveries],
            rating=None
            if (r := entry.rating) is None
            else TimelineRating(
                scale=r.scale, score=r.score, comment=r.comment, channel=r.channel, at=r.updated_at
            ),
        )
