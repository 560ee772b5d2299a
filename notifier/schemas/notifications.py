from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from notifier.schemas.common import NumericCursor, Output, PageQuery
from notifier.statuses import ChannelName, DeliveryStatus, NotificationStatus


class NotificationOut(Output):
    """A notification (one event to tell) with its deliveries counted."""

    id: str
    kind: str
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


class DeliveryOut(Output):
    """One delivery: a notification to one customer on one channel, and its fate."""

    id: int
    notification_id: str
    channel: ChannelName
    status: DeliveryStatus
    attempts: int
    provider_id: str | None
    segments: int | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class DeliveryQuery(PageQuery):
    cursor: NumericCursor | None = None
