"""The sweeper: Redis only carries ids and can be lost; the database knows what is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier.delivery import fallback
from notifier.delivery.fanout import Batch, batch_up
from notifier.statuses import DeliveryStatus, NotificationStatus
from notifier.tables import Customer, Delivery, Notification

MAX_ROWS = 20_000


@dataclass(frozen=True)
class Sweep:
    """What one sweep found: notification ids to fan out again, delivery batches to send
    again (the fallbacks it wrote among them), how many lapsed claims it released, and
    how many fallbacks it wrote that a killed worker had not (``fallback.missed``).
    """

    fan_outs: list[str]
    batches: list[Batch]
    released: int
    fallbacks: int = 0


async def sweep(session: AsyncSession, settings: DeliverySettings, *, now: datetime) -> Sweep:
    """Release claims not renewed within the lease, and find the fan-outs and batches that
    are due and may have been lost with Redis. A killed worker's jobs need no sweep: arq
    runs them again (``workers.heartbeat``) and they take its lapsed claims over; but a
    worker killed between recording a permanent failure and writing its fallback leaves
    no job to do that, so the fallback is written here (``fallback.missed``)."""
    # A live worker renews its claims; one older than the lease was lost with its worker
    # (and its job with Redis): send again. Only calls in flight can go out twice.
    lease = timedelta(seconds=settings.claim_lease_seconds)
    grace = timedelta(seconds=settings.sweep_grace_seconds)
    released = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.sending, Delivery.claimed_at < now - lease)
        .values(status=DeliveryStatus.pending, next_attempt_at=now - grace - timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
    fan_outs = (
        await session.scalars(
            select(Notification.id)
            .where(
                Notification.status != NotificationStatus.done,
                Notification.created_at < now - grace,
            )
            .order_by(Notification.created_at)
        )
    ).all()
    rows = await session.execute(
        select(Delivery.notification_id, Delivery.id, Delivery.channel, Customer.locale)
        .join(Customer, Customer.id == Delivery.customer_id)
        .where(
            # Held ones too: their job waits for their release, but may be lost with Redis.
            Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.held)),
            Delivery.next_attempt_at < now - grace,
        )
        .order_by(Delivery.id)
        .limit(MAX_ROWS)
    )
    by_notification: dict[str, list[tuple[int, str, str]]] = {}
    for row in rows:
        by_notification.setdefault(row.notification_id, []).append(
            (row.id, row.channel, row.locale)
        )
    batches = [b for group in by_notification.values() for b in batch_up(group, settings)]
    # Written now, due now: sent by the batches enqueued with this sweep's.
    fallbacks = await fallback.missed(session, settings, now=now)
    return Sweep(
        fan_outs=list(fan_outs),
        batches=batches + batch_up(fallbacks, settings),
        released=int(released.rowcount),  # type: ignore[attr-defined]
        fallbacks=len(fallbacks),
    )


async def unsent(
    session: AsyncSession, notification_id: str, settings: DeliverySettings, *, after: int = 0
) -> tuple[list[Batch], int | None]:
    """A page of a notification's deliveries still to send (ids above ``after``), in
    batches; and the id the next page starts after (None: that was the last)."""
    rows = (
        await session.execute(
            select(Delivery.id, Delivery.channel, Customer.locale)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(
                Delivery.notification_id == notification_id,
                Delivery.status == DeliveryStatus.pending,
                Delivery.id > after,
            )
            .order_by(Delivery.id)
            .limit(settings.fanout_page_size)
        )
    ).all()
    found = [(row.id, row.channel, row.locale) for row in rows]
    more = len(found) == settings.fanout_page_size
    return batch_up(found, settings), found[-1][0] if more else None
