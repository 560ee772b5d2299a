"""The in-app channel: each message lands in its user's inbox as that user reads it, is
published for the live inbox streams, is delivered at once, and is stored once however
often its delivery is sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.audience_rule import AudienceRule
from notifier.delivery.channels.base import Content, Recipient, Sent, token
from notifier.delivery.channels.inapp import INBOX_CHANNEL, InAppChannel
from notifier.tables import Customer, Delivery, InboxMessage, Notification

Sessions = async_sessionmaker[AsyncSession]
CONTENT = Content(subject=token("title"), text=token("title") + ": we are on it.")


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def deliveries(sessions: Sessions, *user_ids: str) -> list[Recipient]:
    """One in-app delivery row per user of one notification; their recipients."""
    async with sessions() as session, session.begin():
        notification = Notification(
            kind="incident_update",
            event="incident_updated",
            subject_id="inc1",
            update_id="upd1",
            audience=AudienceRule(),
        )
        session.add(notification)
        await session.flush()
        rows = []
        for user in user_ids:
            customer = Customer(external_id=f"cus-{user}", inapp_user_id=user)
            session.add(customer)
            await session.flush()
            row = Delivery(
                notification_id=notification.id, customer_id=customer.id, channel="inapp"
            )
            session.add(row)
            rows.append(row)
        await session.flush()
        return [
            Recipient(row.id, user, {"title": f"Outage for {user}", "url": "/incidents/inc1"})
            for row, user in zip(rows, user_ids, strict=True)
        ]


async def inbox_of(sessions: Sessions, user_id: str) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(InboxMessage.title, InboxMessage.body, InboxMessage.url).where(
                InboxMessage.user_id == user_id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_each_message_lands_in_its_users_inbox_delivered(
    sessions: Sessions, redis: Redis
) -> None:
    recipients = await deliveries(sessions, "u-1", "u-2")
    outcomes = await InAppChannel(sessions, redis).send(CONTENT, recipients)
    assert await inbox_of(sessions, "u-1") == [
        ("Outage for u-1", "Outage for u-1: we are on it.", "/incidents/inc1")
    ]
    assert await inbox_of(sessions, "u-2") == [
        ("Outage for u-2", "Outage for u-2: we are on it.", "/incidents/inc1")
    ]
    async with sessions() as session:
        rows = await session.execute(select(InboxMessage.user_id, InboxMessage.id))
        ids = {user: message_id for user, message_id in rows}
    assert outcomes == [
        Sent(provider_id=f"inbox-{ids['u-1']}", delivered=True),
        Sent(provider_id=f"inbox-{ids['u-2']}", delivered=True),
    ]


async def test_each_message_is_published_for_the_live_inbox(
    sessions: Sessions, redis: Redis
) -> None:
    recipients = await deliveries(sessions, "u-1")
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(INBOX_CHANNEL)
        await InAppChannel(sessions, redis).send(CONTENT, recipients)
        event: dict[str, Any] | None = None
        async with asyncio.timeout(5):
            while event is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    event = json.loads(message["data"])
    async with sessions() as session:
        stored = await session.scalar(select(InboxMessage))
    assert stored is not None
    assert event == {
        "user_id": "u-1",
        "prev": None,  # the user's first message
        "message": {
            "id": stored.id,
            "title": "Outage for u-1",
            "body": "Outage for u-1: we are on it.",
            "url": "/incidents/inc1",
            "created_at": stored.created_at.isoformat(),
        },
    }


async def test_a_delivery_sent_again_keeps_its_first_message(
    sessions: Sessions, redis: Redis
) -> None:
    [recipient] = await deliveries(sessions, "u-1")
    channel = InAppChannel(sessions, redis)
    first = await channel.send(CONTENT, [recipient])
    changed = Recipient(recipient.delivery_id, "u-1", {"title": "Changed", "url": "/x"})
    again = await channel.send(CONTENT, [changed])
    assert again == first
    assert await inbox_of(sessions, "u-1") == [
        ("Outage for u-1", "Outage for u-1: we are on it.", "/incidents/inc1")
    ]
