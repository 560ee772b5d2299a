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


def message(n: int) -> live.Message:
    data = {"id": n, "title": f"message {n}", "body": "", "url": "", "created_at": ""}
    return live.Message(n, n - 1, data)


def queued(listener: live.Listener) -> list[live.Item]:
    return [listener.queue.get_nowait() for _ in range(listener.queue.qsize())]


def test_a_full_stream_takes_nothing_more_and_is_marked_behind_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inboxes = live.Inboxes(queue_size=2)
    with inboxes.listen("user-1") as slow, inboxes.listen("user-1") as fast:
        for n in (1, 2, 3, 4, 5):
            inboxes.push("user-1", message(n))
            fast.queue.get_nowait()
        assert slow.behind is live.Behind.SLOW
        assert queued(slow) == [message(1), message(2)]
        inboxes.push("user-2", message(6))
        assert slow.queue.empty()
        assert fast.queue.empty()
        assert slow.take_behind() is live.Behind.SLOW
        assert slow.behind is None
    assert len(inboxes) == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "user-1" not in warnings[0].getMessage()


def test_behind_all_marks_and_wakes_every_stream() -> None:
    inboxes = live.Inboxes(queue_size=1)
    with inboxes.listen("user-1") as idle, inboxes.listen("user-2") as full:
        inboxes.push("user-2", message(1))
        assert inboxes.behind_all(live.Behind.REDIS) == 2
        assert idle.behind is full.behind is live.Behind.REDIS
        assert queued(idle) == [live.WAKE]
        assert queued(full) == [message(1)]


def test_closing_ends_every_stream_even_a_full_one() -> None:
    inboxes = live.Inboxes(queue_size=1)
    with inboxes.listen("user-1") as full:
        inboxes.push("user-1", message(1))
        inboxes.close()
        inboxes.push("user-1", message(2))
        assert full.queue.get_nowait() is None
        with inboxes.listen("user-2") as late:
            assert late.queue.get_nowait() is None


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
    data = json.dumps({"user_id": "u", "prev": 6, "message": message(7).data})
    assert live.parse(data.encode()) == ("u", message(7))
    data = json.dumps({"user_id": "u", "prev": None, "message": message(1).data})
    assert live.parse(data.encode()) == ("u", message(1))  # the user's first
    # From a publisher that does not name the predecessor: the stream reads the inbox.
    data = json.dumps({"user_id": "u", "message": message(7).data})
    assert live.parse(data.encode()) == ("u", live.Message(7, None, message(7).data))
    assert live.parse(b'{"user_id": "u", "counts": {"unread": 2}}') == ("u", live.Counts())


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
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(INBOX_CHANNEL)
    inboxes = live.Inboxes()
    task = asyncio.create_task(live.forward(pubsub, inboxes))
    try:
        with inboxes.listen("user-1") as listener:
            killed = await publisher.client_kill_filter(_id=await client_id(publisher, name))
            assert killed == 1

            # Subscribed again, it wakes the stream to catch up from the inbox.
            assert await asyncio.wait_for(listener.queue.get(), WAIT) is live.WAKE
            assert listener.take_behind() is live.Behind.REDIS  # as its stream does
            event = {"user_id": "user-1", "prev": None, "message": message(1).data}
            await publisher.publish(INBOX_CHANNEL, json.dumps(event))
            assert await asyncio.wait_for(listener.queue.get(), WAIT) == message(1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await pubsub.aclose()
        await subscriber.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "in-app live push lost Redis (ConnectionError); retrying"
    ]


async def client_id(redis: Redis, name: str) -> str:
    [client] = [c for c in await redis.client_list() if c["name"] == name]
    return str(client["id"])
