"""The SMS rate limit is shared: two workers together never exceed it in a window."""

from __future__ import annotations

import math
import time

import redis.asyncio

from notifier.ratelimit import SharedRateLimit


async def test_two_workers_share_one_window_of_tokens(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        first = SharedRateLimit(client, "sms:+15005550006", per_second=30)
        second = SharedRateLimit(client, "sms:+15005550006", per_second=30)
        window = math.floor(time.time()) + 1000  # a window of our own, far ahead
        granted = [await first._take(window), await second._take(window)]
        granted.append(await first._take(window))
        granted.append(await second._take(window))
        assert sum(granted) == 30
        assert granted == [20, 10, 0, 0]
    finally:
        await client.aclose()


async def test_another_sender_has_its_own_limit(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        window = math.floor(time.time()) + 2000
        busy = SharedRateLimit(client, "sms:+15005550006", per_second=5)
        other = SharedRateLimit(client, "sms:MG0000", per_second=5)
        assert await busy._take(window) == 5
        assert await busy._take(window) == 0
        assert await other._take(window) == 5
    finally:
        await client.aclose()


async def test_acquire_spends_local_tokens_before_asking_redis_again(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        limit = SharedRateLimit(client, "sms:local", per_second=1000)
        for _ in range(20):
            await limit.acquire()
        keys = [k async for k in client.scan_iter("forewarn:rate:sms:local:*")]
        counts = [int(await client.get(k) or 0) for k in keys]
        # One block of 20 (or two, if a window boundary fell in between).
        assert sum(counts) in (20, 40)
    finally:
        await client.aclose()
