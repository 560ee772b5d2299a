"""The page generation: a token that changes on every bump, made on first read."""

from __future__ import annotations

import asyncio
import time

from arq import create_pool
from arq.connections import ArqRedis
from redis.asyncio import Redis

from notifier.delivery.jobs import redis_settings
from notifier.page import generation

WAIT = 10.0  # bounds a wait that should end; never a timing assertion


async def test_each_bump_changes_the_token_and_a_flushed_redis_starts_a_new_one(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        first = await generation.current(redis)
        assert first
        assert await generation.current(redis) == first
        await generation.bump(redis)
        second = await generation.current(redis)
        assert second != first
        await redis.flushdb()
        assert await generation.current(redis) not in (b"", second)
    finally:
        await redis.aclose()


async def test_a_bump_with_redis_gone_does_not_fail_the_request() -> None:
    # Nothing listens here: the change is committed, cached pages age out on their own.
    gone = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        await generation.bump(gone)
    finally:
        await gone.aclose()


async def test_a_bump_with_publishing_asks_the_worker_for_one_deferred_job_per_token(
    redis_url: str,
) -> None:
    pool = await create_pool(redis_settings(redis_url))
    try:
        await generation.bump(pool, publish=True)
        first = (await generation.current(pool)).decode()
        await generation.bump(pool, publish=True)
        second = (await generation.current(pool)).decode()
        await generation.bump(pool)  # no target set: no job

        queued = await pool.queued_jobs()
    finally:
        await pool.aclose()
    assert sorted((j.function, j.args) for j in queued) == sorted(
        [(generation.PUBLISH_JOB, (first,)), (generation.PUBLISH_JOB, (second,))]
    )
    assert all((j.score or 0) > j.enqueue_time.timestamp() * 1000 for j in queued)  # deferred


async def test_a_bump_with_publishing_and_redis_gone_does_not_fail_the_request() -> None:
    gone = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        await generation.bump(gone, publish=True)
    finally:
        await gone.aclose()


async def test_a_bump_returns_once_each_process_with_a_lease_has_acknowledged_it(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    try:
        await generation.current(redis)
        await pubsub.subscribe(generation.channel(redis))
        assert (await pubsub.get_message(timeout=WAIT))["type"] == "subscribe"
        # A web process with a long lease, and one whose lease has ended (not waited for).
        now_ms = time.time() * 1000
        await redis.zadd(generation.SUBSCRIBERS, {"alive": now_ms + 60_000, "gone": now_ms - 1})

        bump = asyncio.create_task(generation.bump(redis))
        message = await pubsub.get_message(timeout=WAIT)
        assert message is not None
        assert message["type"] == "message"
        token = message["data"]
        assert token == await generation.current(redis)
        await asyncio.sleep(0.1)  # time to return, if it did not wait
        assert not bump.done()

        await redis.rpush(generation.ACKS + token.decode(), "alive")
        async with asyncio.timeout(WAIT):
            await bump
    finally:
        await pubsub.aclose()
        await redis.aclose()
