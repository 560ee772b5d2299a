"""The sweeper: Redis only carries ids and can be lost; the database knows what is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier.fanout import Batch, batch_up
from notifier.tables import Customer, Delivery, Notification

MAX_ROWS = 20_000


@dataclass(frozen=True)
class Sweep:
    fan_outs: list[str]
    batches: list[Batch]
    released: int


async def sweep(session: AsyncSession, settings: DeliverySettings, *, now: datetime) -> Sweep:
    # A claim older than the lease was lost with its worker (killed between claim
    # and send, or mid-call): send again. This is the one window for a duplicate.
    lease = timedelta(seconds=settings.claim_lease_seconds)
    grace = timedelta(seconds=settings.sweep_grace_seconds)
    released = await session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < now - lease)
        .values(status="pending", next_attempt_at=now - grace - timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
    fan_outs = (
        await session.scalars(
            select(Notification.id)
            .where(Notification.status != "done", Notification.created_at < now - grace)
            .order_by(Notification.created_at)
        )
    ).all()
    rows = await session.execute(
        select(Delivery.notification_id, Delivery.id, Delivery.channel, Customer.locale)
        .join(Customer, Customer.id == Delivery.customer_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at < now - grace)
        .order_by(Delivery.id)
        .limit(MAX_ROWS)
    )
    by_notification: dict[str, list[tuple[int, str, str]]] = {}
    for notification_id, delivery_id, channel, locale in rows:
        by_notification.setdefault(notification_id, []).append((delivery_id, channel, locale))
    batches = [b for group in by_notification.values() for b in batch_up(group, settings)]
    return Sweep(
        fan_outs=list(fan_outs),
        batches=batches,
        released=int(released.rowcount),  # type: ignore[attr-defined]
    )
