"""The SMS rate limit is shared: two workers together never exceed it in a window.

Through ``acquire`` only. Each test starts at the beginning of a window and counts
which window each acquisition returned in: one that returned in the first window
was granted in it, so "at most N returned in the first window" is exact, whatever
the machine's speed; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from notifier.delivery.ratelimit import SharedRateLimit


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    connection = redis.asyncio.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def start_of_window(seconds: float = 1.0) -> int:
    """Wait for the next window of ``seconds`` to begin; returns its number."""
    now = time.time()
    await asyncio.sleep((math.floor(now / seconds) + 1) * seconds - now + 0.01)
    return math.floor(time.time() / seconds)


async def acquired_in(limit: SharedRateLimit, seconds: float = 1.0) -> int:
    """Acquire once; the window it returned in."""
    await limit.acquire()
    return math.floor(time.time() / seconds)


async def test_a_window_grants_no_more_than_the_rate_and_the_next_waits(
    client: redis.asyncio.Redis,
) -> None:
    limit = SharedRateLimit(client, "sms:+15005550006", per_second=5)
    first = await start_of_window()

    windows = [await acquired_in(limit) for _ in range(6)]

    assert windows.count(first) <= 5
    assert windows[-1] > first  # the sixth waited for the next window
    assert windows == sorted(windows)
    # It slept until then: Redis was asked once in the full window and once in the next
    # (a block of 5 each time), not in a loop.
    keys = [k async for k in client.scan_iter("forewarn:rate:sms:+15005550006:*")]
    assert sum([int(await client.get(k) or 0) for k in keys]) <= 15


async def test_two_workers_together_stay_within_one_limit(client: redis.asyncio.Redis) -> None:
    one = SharedRateLimit(client, "sms:+15005550006", per_second=5)
    other = SharedRateLimit(client, "sms:+15005550006", per_second=5)
    first = await start_of_window()

    windows = await asyncio.gather(
        *(acquired_in(one) for _ in range(4)), *(acquired_in(other) for _ in range(4))
    )

    assert len(windows) == 8
    assert windows.count(first) <= 5
    assert max(windows) > first


async def test_a_rate_under_one_a_second_spreads_over_longer_windows(
    client: redis.asyncio.Redis,
) -> None:
    # 0.8 a second: one message per 1.25-second window, not one a second.
    limit = SharedRateLimit(client, "sms:slow", per_second=0.8)
    first = await start_of_window(1.25)

    windows = [await acquired_in(limit, 1.25) for _ in range(2)]

    assert windows.count(first) <= 1
    assert windows[-1] > first


async def test_another_sender_has_its_own_limit(client: redis.asyncio.Redis) -> None:
    # Shared, 10 acquisitions at 5 a second would need two windows; separate, they fit
    # in one. A run a stalled machine spread over two windows proves nothing: try again.
    for attempt in range(3):
        busy = SharedRateLimit(client, f"sms:+15005550006:{attempt}", per_second=5)
        other = SharedRateLimit(client, f"sms:MG0000:{attempt}", per_second=5)
        first = await start_of_window()
        windows = []
        for _ in range(5):
            windows += [await acquired_in(busy), await acquired_in(other)]
        if windows.count(first) == 10:
            return
    raise AssertionError(f"never all in one window: {windows}")


async def test_acquire_spends_local_tokens_before_asking_redis_again(
    client: redis.asyncio.Redis,
) -> None:
    limit = SharedRateLimit(client, "sms:local", per_second=1000)
    for _ in range(20):
        await limit.acquire()
    keys = [k async for k in client.scan_iter("forewarn:rate:sms:local:*")]
    counts = [int(await client.get(k) or 0) for k in keys]
    # One block of 20 (or two, if a window boundary fell in between).
    assert sum(counts) in (20, 40)
