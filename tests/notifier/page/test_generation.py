"""The page generation: a token that changes on every bump, made on first read."""

from __future__ import annotations

from redis.asyncio import Redis

from notifier.page import generation


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
