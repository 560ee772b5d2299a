"""Replay after commits that race: ids the stream can trust (``notifier/inbox_order.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, text

from config import Settings
from notifier.tables import Delivery
from tests.conftest import Client
from tests.inapp import inapp_deliveries, send
from tests.status_page.test_inbox import WAIT, Sessions, next_event, open_stream, proof
from tests.status_page.test_inbox_stream import data


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def waiting_for_locks(sessions: Sessions, count: int) -> None:
    """Until ``count`` sessions on this PostgreSQL database wait for a lock."""
    async with asyncio.timeout(WAIT):
        while True:
            async with sessions() as session:
                waiting = await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                )
            if waiting is not None and waiting >= count:
                return
            await asyncio.sleep(0.02)


async def test_a_reconnect_replays_each_message_once_when_the_lower_id_commits_last(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    slow, fast = await inapp_deliveries(sessions, "user-1", 2)
    stream = await open_stream(client, settings, "user-1")
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    async with sessions() as blocker, blocker.begin():
        if postgres:
            # The slow sender draws its id, then waits on its delivery's row lock (the
            # foreign key check) before it can commit: the lower id is not yet committed.
            await blocker.scalar(select(Delivery.id).where(Delivery.id == slow).with_for_update())
        sending_slow = asyncio.create_task(send(sessions, redis, "user-1", [(slow, "slow")]))
        if postgres:
            await waiting_for_locks(sessions, 1)
        sending_fast = asyncio.create_task(send(sessions, redis, "user-1", [(fast, "fast")]))
        if postgres:
            # The fast sender either committed a higher id (had nothing ordered them) or
            # waits for the slow one's user lock.
            blocked = asyncio.create_task(waiting_for_locks(sessions, 2))
            await asyncio.wait([sending_fast, blocked], return_when=asyncio.FIRST_COMPLETED)
            blocked.cancel()
    [slow_id], [fast_id] = await sending_slow, await sending_fast
    # The client saw one message, went away, and reconnects from the id it saw.
    first = await next_event(stream)
    stream.close()
    assert first["event"] == "message"
    again = await client.get(
        "/inbox/stream",
        params={"user": "user-1", "hash": proof(settings, "user-1")},
        headers={"Last-Event-ID": first["id"]},
    )
    replayed: list[int] = []
    while (event := await next_event(again))["event"] != "counts":
        replayed.append(int(event["id"]))
    again.close()
    assert sorted([int(first["id"]), *replayed]) == sorted([slow_id, fast_id])
    # And the ids follow the order of commits: the slow one committed first.
    assert slow_id < fast_id
    assert data(first)["id"] == slow_id
