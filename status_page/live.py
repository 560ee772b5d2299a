"""Live in-app push: one Redis subscription per web process, fanned out to its SSE streams.

The in-app channel (in whichever worker sends) publishes each stored message on
``INBOX_CHANNEL``; every web process subscribes once and hands the message to
the open streams of that user in this process. A slow stream loses its oldest
messages rather than holding up the others (the inbox itself has them all).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from notifier.delivery.channels.inapp import INBOX_CHANNEL
from status_page import keys

log = logging.getLogger(__name__)

# A message as published: id, title, body, url, created_at.
Event = dict[str, Any]
STREAM_QUEUE_SIZE = 100
RECONNECT_DELAYS = (0.5, 30.0)


class Inboxes:
    """This process's open inbox streams: user id -> one queue per stream."""

    def __init__(self, queue_size: int = STREAM_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._streams: dict[str, set[asyncio.Queue[Event | None]]] = {}
        self._closed = False

    @contextmanager
    def listen(self, user_id: str) -> Iterator[asyncio.Queue[Event | None]]:
        """A queue of the user's new messages; ``None`` in it means: end the stream."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(self._queue_size)
        if self._closed:
            queue.put_nowait(None)
        self._streams.setdefault(user_id, set()).add(queue)
        try:
            yield queue
        finally:
            streams = self._streams.get(user_id, set())
            streams.discard(queue)
            if not streams:
                self._streams.pop(user_id, None)

    def push(self, user_id: str, message: Event) -> None:
        """Queue ``message`` on each of the user's open streams in this process; a slow
        stream's oldest queued message is dropped (its client catches up by Last-Event-ID)."""
        if self._closed:
            return
        for queue in self._streams.get(user_id, ()):
            _put_dropping_oldest(queue, message)

    def close(self) -> None:
        """End every stream: the process is shutting down."""
        self._closed = True
        for streams in self._streams.values():
            for queue in streams:
                _put_dropping_oldest(queue, None)

    def __len__(self) -> int:
        return sum(len(streams) for streams in self._streams.values())


def _put_dropping_oldest(queue: asyncio.Queue[Event | None], item: Event | None) -> None:
    # Never wait here: one stalled browser must not hold up every other stream.
    if queue.full():
        queue.get_nowait()
        log.warning("a slow in-app stream lost its oldest queued message")
    queue.put_nowait(item)


def parse(data: bytes | str) -> tuple[str, Event] | None:
    """(user id, message) from a published event, or None when it is not one."""
    try:
        event = json.loads(data)
        user_id, message = event["user_id"], event["message"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(user_id, str) or not isinstance(message, dict):
        return None
    if not isinstance(message.get("id"), int):
        return None
    return user_id, message


async def fan_in(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: subscribe before the app serves, forward until it stops."""
    inboxes = Inboxes()
    app[keys.INBOXES] = inboxes
    redis = Redis.from_url(app[keys.SETTINGS].redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(INBOX_CHANNEL)
        task = asyncio.create_task(forward(pubsub, inboxes), name="forewarn inbox fan-in")
        try:
            yield
        finally:
            inboxes.close()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def end_streams(app: web.Application) -> None:
    """on_shutdown: open streams end now, so the server need not wait for them."""
    if keys.INBOXES in app:
        app[keys.INBOXES].close()


async def forward(pubsub: PubSub, inboxes: Inboxes) -> None:
    """Hand each published message to this process's streams; survive Redis restarts."""
    first, most = RECONNECT_DELAYS
    delay = first
    while True:
        try:
            # After a lost connection redis-py reconnects here and subscribes again.
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
        except (RedisError, OSError) as exc:
            log.warning(
                "in-app live push lost Redis (%s); retrying in %.1f s", type(exc).__name__, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)
            continue
        delay = first
        if message is None or message.get("type") != "message":
            continue
        parsed = parse(message["data"])
        if parsed is None:
            log.warning("ignored a malformed in-app event on %s", INBOX_CHANNEL)
            continue
        inboxes.push(*parsed)
