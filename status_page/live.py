"""Live in-app push: one Redis subscription per web process, fanned out to its SSE streams.

The in-app channel (in whichever worker sends) publishes each stored message on
``INBOX_CHANNEL``, and the inbox API publishes a ``counts`` event when a user's read
state changes; every web process subscribes once and hands each event to the open
streams of that user in this process (``status_page.inbox_stream`` sends them).

Pub/sub loses what is published while a subscriber is away, so every gap is noticed
and turned into a catch-up from the database, never passed over in silence:

- Redis gone: ``forward`` retries quickly (``RECONNECT_DELAYS``: 0.1 s doubling to
  2 s) and, once the subscription is confirmed again, marks every open stream behind
  (``Behind.REDIS``). Away when the process starts: it serves anyway
  (``SUBSCRIBE_SECONDS``) and the streams opened meanwhile catch up the same way.
- A slow reader: its queue (``STREAM_QUEUE_SIZE``) stops taking events when full and
  the stream is marked behind (``Behind.SLOW``), with one warning per episode.

A stream marked behind sends a ``resync`` event, then what it missed from the inbox.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
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
# Seconds before the first resubscribe attempt and at most between two (issue 16: 6.2 s
# of backoff lost every update of the first seconds after Redis came back).
RECONNECT_DELAYS = (0.1, 2.0)
# How long a starting web process waits for its subscription before serving without it.
SUBSCRIBE_SECONDS = 2.0


@dataclass(frozen=True)
class Message:
    """A stored message as published: ``prev`` is the id of the user's message just before
    it (0 for the first; None from a publisher that does not say: then a gap is assumed)."""

    id: int
    prev: int | None
    data: Event


@dataclass(frozen=True)
class Counts:
    """The user's read state changed (in any tab, on any web process)."""


class Wake:
    """Wakes a waiting stream to look at its ``behind`` flag."""


WAKE = Wake()
Item = Message | Counts | Wake | None


class Behind(enum.StrEnum):
    """Why a stream missed live events: the ``reason`` of its ``resync`` event."""

    REDIS = "redis"  # the subscription was lost and is back
    SLOW = "slow"  # the client read more slowly than events came


@dataclass(eq=False)
class Listener:
    """One open stream: its queue (``None`` in it means end) and whether it missed events."""

    user_id: str
    queue: asyncio.Queue[Item]
    behind: Behind | None = None

    def take_behind(self) -> Behind | None:
        """The reason it is behind, cleared: the caller catches up from the inbox now."""
        reason, self.behind = self.behind, None
        return reason


class Inboxes:
    """This process's open inbox streams: user id -> its listeners."""

    def __init__(self, queue_size: int = STREAM_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._streams: dict[str, set[Listener]] = {}
        self._closed = False

    @contextmanager
    def listen(self, user_id: str) -> Iterator[Listener]:
        """A listener for the user's events while the block runs."""
        listener = Listener(user_id, asyncio.Queue(self._queue_size))
        if self._closed:
            listener.queue.put_nowait(None)
        self._streams.setdefault(user_id, set()).add(listener)
        try:
            yield listener
        finally:
            streams = self._streams.get(user_id, set())
            streams.discard(listener)
            if not streams:
                self._streams.pop(user_id, None)

    def push(self, user_id: str, item: Message | Counts) -> None:
        """Queue ``item`` on each of the user's open streams in this process, never waiting:
        one stalled browser must not hold up the others. A stream whose queue is full
        takes nothing more until it has caught up (``Behind.SLOW``)."""
        if self._closed:
            return
        for listener in self._streams.get(user_id, ()):
            if listener.behind is not None:
                continue  # it reads the inbox when it has drained its queue
            if listener.queue.full():
                listener.behind = Behind.SLOW
                # One line per stream and episode (issue 16: one per event was 4,120 lines
                # in 32 s); no user id: it is the host application's identifier of a person.
                log.warning(
                    "an in-app stream fell %d events behind; it will catch up from the inbox",
                    listener.queue.qsize(),
                )
                continue
            listener.queue.put_nowait(item)

    def behind_all(self, reason: Behind) -> int:
        """Mark every open stream behind and wake it; how many there are."""
        count = 0
        for streams in self._streams.values():
            for listener in streams:
                count += 1
                if listener.behind is None:
                    listener.behind = reason
                if not listener.queue.full():
                    listener.queue.put_nowait(WAKE)
        return count

    def close(self) -> None:
        """End every stream: the process is shutting down."""
        self._closed = True
        for streams in self._streams.values():
            for listener in streams:
                if listener.queue.full():
                    listener.queue.get_nowait()  # it ends now: what was queued no longer matters
                listener.queue.put_nowait(None)

    def __len__(self) -> int:
        return sum(len(streams) for streams in self._streams.values())


def parse(data: bytes | str) -> tuple[str, Message | Counts] | None:
    """(user id, event) from a published event, or None when it is not one."""
    try:
        event = json.loads(data)
        user_id = event["user_id"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(user_id, str):
        return None
    if "counts" in event:
        return user_id, Counts()
    message = event.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("id"), int):
        return None
    # null: the user's first message (0 is below every id); absent: the publisher does not say.
    prev = event.get("prev", "unknown")
    return user_id, Message(message["id"], 0 if prev is None else _int_or_none(prev), message)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def publish_counts(redis: Redis, user_id: str, counts: dict[str, int]) -> None:
    """Tell every open stream of the user, on every web process, that its read state
    changed. A Redis error is logged, not raised: the change is stored, and streams that
    missed this catch up when the subscription is back."""
    try:
        await redis.publish(INBOX_CHANNEL, json.dumps({"user_id": user_id, "counts": counts}))
    except (RedisError, OSError) as exc:
        log.warning("could not publish an in-app read-state change (%s)", type(exc).__name__)


async def fan_in(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: subscribe before the app serves, forward until it stops."""
    inboxes = Inboxes()
    app[keys.INBOXES] = inboxes
    redis = Redis.from_url(app[keys.SETTINGS].redis_url)
    # Subscribe confirmations are read: one after a reconnect ends a gap.
    pubsub = redis.pubsub()
    try:
        subscribed = await _subscribe(pubsub)
        task = asyncio.create_task(
            forward(pubsub, inboxes, subscribed=subscribed), name="forewarn inbox fan-in"
        )
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


async def _subscribe(pubsub: PubSub) -> bool:
    """Subscribe before serving if Redis answers within ``SUBSCRIBE_SECONDS``; if not,
    serve anyway (``forward`` keeps trying, and streams opened meanwhile catch up)."""
    try:
        async with asyncio.timeout(SUBSCRIBE_SECONDS):
            await pubsub.subscribe(INBOX_CHANNEL)
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("in-app live push cannot reach Redis (%s); retrying", type(exc).__name__)
        return False
    return True


async def end_streams(app: web.Application) -> None:
    """on_shutdown: open streams end now, so the server need not wait for them."""
    if keys.INBOXES in app:
        app[keys.INBOXES].close()


async def forward(pubsub: PubSub, inboxes: Inboxes, *, subscribed: bool = True) -> None:
    """Hand each published event to this process's streams; survive Redis restarts.
    Subscribes first unless ``subscribed`` (Redis was away when the process started).

    After a lost connection, the first subscribe confirmation marks every open stream
    behind (``Behind.REDIS``): what was published in between is gone from pub/sub.
    """
    first, most = RECONNECT_DELAYS
    delay = first
    gap = not subscribed
    while True:
        try:
            if not subscribed:
                await pubsub.subscribe(INBOX_CHANNEL)
                subscribed = True
            # After a lost connection redis-py reconnects here and subscribes again.
            message = await pubsub.get_message(timeout=None)
        except (RedisError, OSError) as exc:
            if not gap:
                log.warning("in-app live push lost Redis (%s); retrying", type(exc).__name__)
            gap = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)
            continue
        delay = first
        if message is None:
            continue
        if message.get("type") == "subscribe":
            if gap:
                gap = False
                streams = inboxes.behind_all(Behind.REDIS)
                log.info("in-app live push subscribed again; %d open streams catch up", streams)
            continue
        if message.get("type") != "message":
            continue
        parsed = parse(message["data"])
        if parsed is None:
            log.warning("ignored a malformed in-app event on %s", INBOX_CHANNEL)
            continue
        inboxes.push(*parsed)
