"""In-app messages delivered the way a worker delivers them: delivery rows, then InAppChannel."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.audience_rule import AudienceRule
from notifier.delivery.channels.base import Content, Recipient, token
from notifier.delivery.channels.inapp import InAppChannel
from notifier.tables import Customer, Delivery, InboxMessage, Notification

Sessions = async_sessionmaker[AsyncSession]


async def deliver(sessions: Sessions, redis: Redis, user_id: str, *titles: str) -> list[int]:
    """Store and publish one message per title for ``user_id``; their ids, oldest first."""
    delivery_ids = await inapp_deliveries(sessions, user_id, len(titles))
    return await send(sessions, redis, user_id, list(zip(delivery_ids, titles, strict=True)))


async def inapp_deliveries(sessions: Sessions, user_id: str, count: int) -> list[int]:
    """``count`` in-app deliveries to ``user_id`` (a customer made if need be), not sent."""
    async with sessions() as session, session.begin():
        customer = await session.scalar(select(Customer).where(Customer.inapp_user_id == user_id))
        if customer is None:
            customer = Customer(external_id=f"ext-{user_id}", inapp_user_id=user_id)
            session.add(customer)
            await session.flush()
        notifications = [
            Notification(
                kind="incident_update",
                event="incident_updated",
                subject_id=f"inc{n}",
                update_id=f"upd{n}",
                audience=AudienceRule(),
            )
            for n in range(count)
        ]
        session.add_all(notifications)
        await session.flush()
        deliveries = [
            Delivery(notification_id=n.id, customer_id=customer.id, channel="inapp")
            for n in notifications
        ]
        session.add_all(deliveries)
        await session.flush()
        return [d.id for d in deliveries]


async def send(
    sessions: Sessions, redis: Redis, user_id: str, titled: list[tuple[int, str]]
) -> list[int]:
    """Send (delivery id, title) pairs through InAppChannel; the message ids, oldest first."""
    delivery_ids = [delivery_id for delivery_id, _ in titled]
    # One send, as a batch job makes it: every message gets the same created_at.
    content = Content(subject=token("title"), text=token("title") + ": we are on it.")
    recipients = [
        Recipient(delivery_id, user_id, {"title": title, "url": "/incidents/1"})
        for delivery_id, title in titled
    ]
    await InAppChannel(sessions, redis).send(content, recipients)
    async with sessions() as session:
        stored = await session.scalars(
            select(InboxMessage.id)
            .where(InboxMessage.delivery_id.in_(delivery_ids))
            .order_by(InboxMessage.id)
        )
        return list(stored)
