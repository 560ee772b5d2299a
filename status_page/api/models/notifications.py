"""Notifications (with their deliveries counted) and deliveries, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from notifier.events import Event
from notifier.notifications import Counts
from notifier.statuses import ChannelName, DeliveryStatus, NotificationStatus
from notifier.tables import Notification
from status_page.api.models.common import Output


class NotificationOut(Output):
    """One event to tell, and where its deliveries stand. Times are RFC 3339, in UTC."""

    id: str
    kind: str
    event: Event = Field(
        description="Which message it is: incident_created, maintenance_started, ..."
    )
    subject_id: str = Field(description="The incident, maintenance or delivery problem.")
    update_id: str
    audience: dict[str, Any]
    status: NotificationStatus = Field(
        description="pending, fanning_out or done (every delivery row exists)."
    )
    created_at: datetime
    fanned_out_at: datetime | None
    deliveries: dict[str, dict[str, int]] = Field(
        description='Counts by channel and status, e.g. {"email": {"sent": 9, "failed": 1}}.'
    )

    @classmethod
    def from_record(cls, notification: Notification, deliveries: Counts) -> NotificationOut:
        """From a ``Notification`` row and its deliveries' counts (``notifications.counts``)."""
        return cls(
            id=notification.id,
            kind=notification.kind,
            event=Event(notification.event),
            subject_id=notification.subject_id,
            update_id=notification.update_id,
            audience=notification.audience.to_json(),
            status=notification.status,
            created_at=notification.created_at,
            fanned_out_at=notification.fanned_out_at,
            deliveries=deliveries,
        )


class DeliveryOut(Output):
    """One message to one customer on one channel. Times are RFC 3339, in UTC."""

    id: int
    notification_id: str
    channel: ChannelName
    status: DeliveryStatus
    attempts: int
    provider_id: str | None
    segments: int | None
    last_error: str | None
    fallback_of: int | None = Field(
        description="The delivery this one falls back from: it failed for good, was not "
        "allowed, or stayed unread. Null: one of the notification's own."
    )
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
