"""The public page's generation: a token in Redis replaced after every commit that can
change what the page shows. Web processes tag cached pages with the token they read
(``status_page.cache``) and serve a cached page only while Redis still holds that token.

A random token rather than a counter: a flushed or replaced Redis starts again without
the key, and a counter would climb back through values that old cached pages carry.

Web processes learn of a bump from pub/sub rather than by reading the key per request
(``status_page.freshness``), and a bump returns only once every web process that
trusts its copy of the token has applied the new one (it acknowledges on ``ACKS``), or
once such a process can no longer trust it (its lease, ``LEASE``, has run out). So a
GET anywhere after the bump's HTTP response still shows the change.

The same bump asks the worker to publish the page's static snapshot
(``notifier.page.publishing``): one job per token, run a moment later, which does
nothing if a newer token came meanwhile, so a burst of changes publishes once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "forewarn:page-generation"
# Since when (epoch seconds) a change has waited for a publication; set by the first bump
# after a publication started (``notifier.page.publishing``).
PENDING = "forewarn:page-pending-since"
# A set: the ids of the records changed since the last publication started, or
# ``EVERYTHING`` when a change may show anywhere (``notifier.page.publishing`` renders
# only what the ids touch when it can).
TOUCHED = "forewarn:page-touched"
EVERYTHING = "*"
# The page's jobs (``notifier.page`` may not import ``notifier.delivery.jobs``, which
# declares every other; ``tests/workers/test_settings.py`` checks both sets are served).
PUBLISH_JOB = "publish_page"  # (token: str)
REFRESH_JOB = "refresh_page"  # cron
# Seconds a publication waits after the change that asked for it: changes closer together
# than this (a script posting updates, an incident touching ten components) publish once.
PUBLISH_DELAY = 0.25


# The bump's news, per Redis database (channels are not: processes on other databases
# must neither receive our tokens nor be waited for).
CHANNEL = "forewarn:page-generation:{db}"
# Web processes that trust their token: id -> the end of their lease, epoch milliseconds.
SUBSCRIBERS = "forewarn:page-subscribers"
# Ids of the processes that applied a token: a list per token, popped by the bump.
ACKS = "forewarn:page-acks:"
ACKS_KEPT_MS = 60_000
# Seconds a web process trusts its token after Redis last answered it on the subscription
# (a ping sent at t gives trust until t + LEASE); the margin covers the clocks of two
# hosts (leases are compared in epoch time) and the time to act on an expiry.
LEASE = 1.0
LEASE_MARGIN = 0.25


def channel(redis: Redis) -> str:
    """The pub/sub channel of the page generation for ``redis``'s database."""
    return CHANNEL.format(db=redis.connection_pool.connection_kwargs.get("db", 0))


def publish_job_id(token: str) -> str:
    """The job id of the publication asked for by the bump that set ``token``."""
    return f"publish:{token}"


async def bump(redis: Redis, *, publish: bool = False, touched: str | None = None) -> None:
    """Call after the commit, before answering: later reads anywhere see a new token.
    With ``publish`` (a snapshot target is set) and an arq pool, the worker is asked to
    publish the page; ``touched`` is the id of the one incident or maintenance the change
    was about (None: it may show anywhere). Never raises for Redis: the change is
    committed whatever happens."""
    token = secrets.token_hex(8)
    try:
        if publish:
            # Before the token moves: a publication that sees the new token sees this too.
            await redis.sadd(TOUCHED, touched or EVERYTHING)  # type: ignore[misc]
        previous = await redis.set(KEY, token, get=True)
        await redis.publish(channel(redis), token)
        if publish and isinstance(redis, ArqRedis):
            await redis.set(PENDING, time.time(), nx=True)
            await redis.enqueue_job(
                PUBLISH_JOB,
                token,
                _job_id=publish_job_id(token),
                _defer_by=PUBLISH_DELAY,
            )
        await _applied_everywhere(redis, token, fresh_redis=previous is None)
    except (RedisError, OSError) as exc:
        # The change is committed; cached pages age out (status_page.cache.MAX_AGE), and
        # the worker's refresh publishes the page within a minute of Redis coming back.
        log.warning("could not bump the page generation: %s", exc)


async def _applied_everywhere(redis: Redis, token: str, *, fresh_redis: bool) -> None:
    """Wait until each web process with a lease has acknowledged ``token``, or its lease
    (plus ``LEASE_MARGIN``) has ended: at most ``LEASE + LEASE_MARGIN`` seconds, a few
    milliseconds when every process is well. A Redis without the old token (restarted
    or flushed) lost the list of leases: then wait out the longest lease there could be."""
    now = time.time()
    if fresh_redis:
        await asyncio.sleep(LEASE + LEASE_MARGIN)
        return
    leases = await redis.zrangebyscore(SUBSCRIBERS, now * 1000, "+inf", withscores=True)
    waiting = {member: score / 1000 + LEASE_MARGIN for member, score in leases}
    while waiting:
        left = max(waiting.values()) - time.time()
        if left <= 0:
            return  # none of them trusts its token any longer
        # Not below 10 ms: Redis reads a timeout that rounds to 0 ms as "for ever".
        popped = await redis.blpop([ACKS + token], timeout=max(left, 0.01))  # type: ignore[misc]
        if popped is None:
            return
        waiting.pop(popped[1], None)


async def current(redis: Redis) -> bytes:
    """The token now; a missing key (new or flushed Redis) gets a new token first."""
    token: bytes | None = await redis.get(KEY)
    if token is None:
        await redis.set(KEY, secrets.token_hex(8), nx=True)
        token = await redis.get(KEY)
    return token or b""


async def take_touched(redis: Redis) -> frozenset[str] | None:
    """The ids changed since the last call, and forget them (one transaction); None when
    a change may show anywhere. Empty when the publication before took every id after
    its change committed (a flushed Redis lost ``publishing.PUBLISHED`` too, and with it
    any rendering to reuse from)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.smembers(TOUCHED)
        pipe.delete(TOUCHED)
        members, _ = await pipe.execute()
    ids = frozenset(m.decode() for m in members)
    if EVERYTHING in ids:
        return None
    return ids


async def touch_everything(redis: Redis) -> None:
    """Make the next publication render every file (this one failed midway). Never
    raises for Redis: without the set, the next publication renders every file anyway."""
    try:
        await redis.sadd(TOUCHED, EVERYTHING)  # type: ignore[misc]
    except (RedisError, OSError) as exc:
        log.warning("could not mark the page for a whole publication: %s", exc)
