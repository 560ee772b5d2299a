"""The page cache's token kept by pub/sub, so that a cached page costs no Redis read.

Each web process subscribes to the page generation's channel
(``notifier.page.generation.CHANNEL``); every bump publishes its token there, and this
process applies it (``Target.apply``: a new token empties the cache) and then
acknowledges it on ``ACKS``. The bump waits for those acknowledgements before its HTTP
response returns, so the next GET anywhere shows the change: as strict as reading the
token per request, which is what a process does whenever it does not trust its copy.

It trusts its copy only under a lease: every ``HEARTBEAT`` it registers in
``SUBSCRIBERS`` (until the ping's time plus ``LEASE``) and pings Redis on the
subscription; the pong comes after every message published before the ping, so when it
arrives the copy is up to date as of the ping, and the process trusts it until the
ping's time plus ``LEASE`` (``Target.trust``). A bump waits for each registered process
until its lease ends, never longer. So a dead connection, a blocked event loop or a
restarted Redis costs at most a lease of waiting on writes, never a stale page; while
the subscription is down, the cache reads the token per request as before.

After each (re)subscription the token is read once, and trusted only after the next
pong: what was published while the subscription was down is lost.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from notifier.page import generation

log = logging.getLogger(__name__)

HEARTBEAT = 0.25  # seconds between two pings: a lease is renewed about four times
RECONNECT_DELAYS = (0.1, 2.0)  # seconds: first retry, and at most between two


class Target(Protocol):
    """What the subscription keeps up to date (``status_page.cache.PageCache``)."""

    def apply(self, token: bytes) -> None:
        """A token read or published after every earlier one: the cache's token now."""

    def trust(self, until: float) -> None:
        """Serve under the token without reading it until ``until`` (``time.monotonic``)."""


class Subscription:
    """Keeps ``target``'s token current from the page generation's channel at
    ``redis_url``, on connections of its own named ``forewarn-page-<id>``.

    ``run`` until cancelled, then ``close``; ``subscribed`` says whether it is up now."""

    def __init__(self, redis_url: str, target: Target) -> None:
        self.id = secrets.token_hex(8)  # this process in SUBSCRIBERS and ACKS
        self.client_name = f"forewarn-page-{self.id}"
        self._redis = Redis.from_url(redis_url, client_name=self.client_name)
        self._target = target
        self.channel = generation.channel(self._redis)
        self.subscribed = False

    async def run(self) -> None:
        """Subscribe, and again after every loss, until cancelled."""
        first, most = RECONNECT_DELAYS
        delay = first
        while True:
            try:
                await self._session()
            except (RedisError, OSError, TimeoutError) as exc:
                self._lost()
                log.warning("page cache: the generation's subscription is down (%r)", exc)
            except BaseException:
                self._lost()
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)

    def _lost(self) -> None:
        self.subscribed = False
        self._target.trust(0.0)

    async def _session(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            await self._confirmed(pubsub)
            self._target.apply(await generation.current(self._redis))
            self.subscribed = True
            await self._listen(pubsub)
        finally:
            await pubsub.aclose()

    @staticmethod
    async def _confirmed(pubsub: object) -> None:
        async with asyncio.timeout(generation.LEASE):
            while True:
                message = await pubsub.get_message(timeout=generation.LEASE)  # type: ignore[attr-defined]
                if message is not None and message["type"] == "subscribe":
                    return

    async def _listen(self, pubsub: object) -> None:
        ping_sent: float | None = None  # monotonic time of the ping awaiting its pong
        next_ping = 0.0
        while True:
            now = time.monotonic()
            if ping_sent is None and now >= next_ping:
                ping_sent, next_ping = now, now + HEARTBEAT
                # Registered before the ping is sent: a bump that misses the pong's news
                # finds this lease and waits for it.
                wall_ms = time.time() * 1000
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.zremrangebyscore(generation.SUBSCRIBERS, "-inf", wall_ms)  # the dead
                    pipe.zadd(generation.SUBSCRIBERS, {self.id: wall_ms + generation.LEASE * 1000})
                    await pipe.execute()
                await pubsub.ping()  # type: ignore[attr-defined]
            if ping_sent is not None and now - ping_sent > generation.LEASE:
                raise TimeoutError("no pong within a lease")
            wait = generation.LEASE if ping_sent is not None else next_ping - now
            message = await pubsub.get_message(timeout=max(wait, 0.001))  # type: ignore[attr-defined]
            if message is None:
                continue
            kind = message["type"]
            if kind == "pong" and ping_sent is not None:
                self._target.trust(ping_sent + generation.LEASE)
                ping_sent = None
            elif kind == "message":
                token = message["data"]
                self._target.apply(token)
                await self._acknowledge(token)
            elif kind == "subscribe":
                # redis-py subscribed again on a new connection: messages may be lost.
                raise RedisError("resubscribed behind our back")

    async def _acknowledge(self, token: bytes) -> None:
        key = generation.ACKS + token.decode()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, self.id)
            pipe.pexpire(key, generation.ACKS_KEPT_MS)
            await pipe.execute()

    async def close(self) -> None:
        """Out of ``SUBSCRIBERS`` (bumps need not wait for this process), connections closed.
        After ``run`` was cancelled."""
        try:
            await self._redis.zrem(generation.SUBSCRIBERS, self.id)
        except (RedisError, OSError) as exc:
            log.info("page cache: could not leave the subscribers (%r)", exc)
        await self._redis.aclose()
