from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from config import Settings
from notifier.delivery.channels.inapp import INBOX_CHANNEL
from status_page import live

WAIT = 10.0  # bounds a wait that should end; never a timing assertion


def message(n: int) -> live.Event:
    return {"id": n, "title": f"message {n}", "body": "", "url": "", "created_at": ""}


def test_a_slow_stream_loses_its_oldest_messages_not_the_others() -> None:
    inboxes = live.Inboxes(queue_size=2)
    with inboxes.listen("user-1") as slow, inboxes.listen("user-1") as fast:
        for n in (1, 2, 3):
            inboxes.push("user-1", message(n))
            fast.get_nowait()
        assert [slow.get_nowait() for _ in range(slow.qsize())] == [message(2), message(3)]
        inboxes.push("user-2", message(4))
        assert slow.empty()
        assert fast.empty()
    assert len(inboxes) == 0


def test_closing_ends_every_stream_even_a_full_one() -> None:
    inboxes = live.Inboxes(queue_size=1)
    with inboxes.listen("user-1") as full:
        inboxes.push("user-1", message(1))
        inboxes.close()
        inboxes.push("user-1", message(2))
        assert full.get_nowait() is None
        with inboxes.listen("user-2") as late:
            assert late.get_nowait() is None


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"user_id": "u"}',
        b'{"user_id": 5, "message": {"id": 1}}',
        b'{"user_id": "u", "message": {"id": "1"}}',
    ],
)
def test_a_malformed_event_is_not_forwarded(data: bytes) -> None:
    assert live.parse(data) is None


def test_an_event_as_the_inapp_channel_publishes_it() -> None:
    data = json.dumps({"user_id": "u", "message": message(7)})
    assert live.parse(data.encode()) == ("u", message(7))


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def test_the_fan_in_subscribes_again_after_redis_drops_it(
    settings: Settings, publisher: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Only this test's own connection is killed: a shared Redis may serve other runs.
    name = "forewarn-test-" + secrets.token_hex(6)
    subscriber = Redis.from_url(settings.redis_url, client_name=name)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(INBOX_CHANNEL)
    inboxes = live.Inboxes()
    task = asyncio.create_task(live.forward(pubsub, inboxes))
    try:
        with inboxes.listen("user-1") as queue:
            killed = await publisher.client_kill_filter(_id=await client_id(publisher, name))
            assert killed == 1

            async def until_pushed() -> live.Event | None:
                # What is published while no one listens is gone (the inbox keeps it).
                while True:
                    event = {"user_id": "user-1", "message": message(1)}
                    await publisher.publish(INBOX_CHANNEL, json.dumps(event))
                    try:
                        return await asyncio.wait_for(queue.get(), 0.2)
                    except TimeoutError:
                        continue

            assert await asyncio.wait_for(until_pushed(), WAIT) == message(1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await pubsub.aclose()
        await subscriber.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("lost Redis" in r.getMessage() for r in warnings)


async def client_id(redis: Redis, name: str) -> str:
    [client] = [c for c in await redis.client_list() if c["name"] == name]
    return str(client["id"])
