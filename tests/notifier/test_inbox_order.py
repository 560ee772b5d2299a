from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import inbox, inbox_order
from notifier.delivery.channels.inapp import INBOX_CHANNEL
from tests.inapp import deliver

Sessions = async_sessionmaker[AsyncSession]
WAIT = 10.0  # bounds a wait that should end; never a timing assertion


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def test_after_pages_what_a_reconnect_missed_oldest_first(
    sessions: Sessions, redis: Redis
) -> None:
    first, *_ = await deliver(sessions, redis, "user-1", "one", "two", "three")
    await deliver(sessions, redis, "user-2", "theirs")
    async with sessions() as session:
        missed = await inbox_order.after(session, "user-1", first, limit=10)
        page = await inbox_order.after(session, "user-1", first, limit=1)
        rest = await inbox_order.after(session, "user-1", page[-1].id, limit=1)
    assert [m.title for m in missed] == ["two", "three"]
    assert [m.title for m in page] == ["two"]
    assert [m.title for m in rest] == ["three"]
    assert inbox.event(missed[0]) == {
        "id": missed[0].id,
        "title": "two",
        "body": "two: we are on it.",
        "url": "/incidents/1",
        "created_at": missed[0].created_at.isoformat(),
    }


async def test_each_published_message_names_the_users_message_before_it(
    sessions: Sessions, redis: Redis, settings: Settings
) -> None:
    listener = Redis.from_url(settings.redis_url)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(INBOX_CHANNEL)
    try:
        one, two = await deliver(sessions, redis, "user-1", "one", "two")
        await deliver(sessions, redis, "user-2", "theirs")
        [three] = await deliver(sessions, redis, "user-1", "three")
        published: list[tuple[str, int | None, int]] = []

        async def read() -> None:
            while len(published) < 4:
                message = await pubsub.get_message(timeout=None)
                if message is not None:  # None: the subscribe confirmation
                    event = json.loads(message["data"])
                    published.append((event["user_id"], event["prev"], event["message"]["id"]))

        await asyncio.wait_for(read(), WAIT)
    finally:
        await pubsub.aclose()
        await listener.aclose()
    mine = [(prev, ident) for user, prev, ident in published if user == "user-1"]
    assert mine == [(None, one), (one, two), (two, three)]
    assert [prev for user, prev, _ in published if user == "user-2"] == [None]


def test_every_process_hashes_a_user_to_the_same_lock() -> None:
    assert inbox_order.bucket("user-1") == inbox_order.bucket("user-1")
    assert {inbox_order.bucket(f"user-{n}") for n in range(200)} == set(
        range(inbox_order.LOCK_BUCKETS)
    )
