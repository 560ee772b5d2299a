"""Fan-out: turn one notification into delivery rows, a page of the audience at a time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier import audience
from notifier.tables import Customer, Delivery, Notification

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    channel: str
    delivery_ids: list[int]

    @property
    def job_id(self) -> str:
        return f"send:{self.channel}:{self.delivery_ids[0]}:{self.delivery_ids[-1]}"


def insert_ignoring_duplicates(session: AsyncSession, table: Any) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on either engine."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def fan_out_page(
    session: AsyncSession, notification_id: str, settings: DeliverySettings, *, now: datetime
) -> tuple[list[Batch], bool]:
    """Add the deliveries of the next page of the audience; returns its batches and
    whether the fan-out is complete. Safe to re-run: rows are unique per
    (notification, customer, channel) and the cursor only moves on commit."""
    notification = await session.get(Notification, notification_id, with_for_update=True)
    if notification is None or notification.status == "done":
        return [], True
    members = await audience.page(
        session, notification.audience, after=notification.cursor, limit=settings.fanout_page_size
    )
    pairs = [(ch, addr) for m in members for ch, addr in m.addresses.items()]
    suppressed = await audience.suppressed(session, pairs)
    rows: list[dict[str, Any]] = []
    for member in members:
        for channel, address in member.addresses.items():
            status, error = "pending", None
            if channel not in member.consented:
                status, error = "suppressed", "no consent for this channel"
            elif (channel, address) in suppressed:
                status, error = (
                    "suppressed",
                    f"address suppressed: {suppressed[(channel, address)]}",
                )
            rows.append(
                {
                    "notification_id": notification.id,
                    "customer_id": member.customer_id,
                    "channel": channel,
                    "status": status,
                    "last_error": error,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if rows:
        await session.execute(insert_ignoring_duplicates(session, Delivery), rows)
    done = len(members) < settings.fanout_page_size
    notification.status = "done" if done else "fanning_out"
    if members:
        notification.cursor = members[-1].customer_id
    if done:
        notification.fanned_out_at = now
    batches = await pending_batches(
        session, notification.id, [m.customer_id for m in members], settings
    )
    return batches, done


async def pending_batches(
    session: AsyncSession,
    notification_id: str,
    customer_ids: Sequence[str],
    settings: DeliverySettings,
) -> list[Batch]:
    """The pending deliveries of these customers, in send batches (same channel and
    locale, so one rendering serves the whole batch)."""
    if not customer_ids:
        return []
    rows = await session.execute(
        select(Delivery.id, Delivery.channel, Customer.locale)
        .join(Customer, Customer.id == Delivery.customer_id)
        .where(
            Delivery.notification_id == notification_id,
            Delivery.customer_id.in_(customer_ids),
            Delivery.status == "pending",
        )
        .order_by(Delivery.id)
    )
    return batch_up([(i, ch, loc) for i, ch, loc in rows], settings)


def batch_up(rows: Sequence[tuple[int, str, str]], settings: DeliverySettings) -> list[Batch]:
    size = {"email": settings.email_batch_size, "sms": settings.sms_batch_size}
    groups: dict[tuple[str, str], list[int]] = {}
    for delivery_id, channel, locale in rows:
        groups.setdefault((channel, locale), []).append(delivery_id)
    batches = []
    for (channel, _locale), ids in groups.items():
        step = size.get(channel, 1000)
        batches += [Batch(channel, ids[i : i + step]) for i in range(0, len(ids), step)]
    return batches
