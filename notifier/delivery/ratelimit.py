"""A rate limit shared by every worker through Redis (fixed one-second windows)."""

from __future__ import annotations

import asyncio
import math
import time

from redis.asyncio import Redis

# Tokens taken from Redis at a time, so a message costs no round trip of its own: at
# least BLOCK, and at high rates a hundredth of a window (one round trip per 100 texts
# at 10,000 a second rather than per 20: while one is awaited, every text waits on the
# lock). A block another worker never spends is at most that hundredth of the window.
BLOCK = 20
BLOCKS_PER_WINDOW = 100


class SharedRateLimit:
    """At most ``per_second`` acquisitions a second across all processes on one Redis.

    Fixed windows: each process takes tokens in blocks with one INCRBY, and
    spends them locally until the window ends. Exact per window; a burst can
    straddle two windows, which providers' own limits tolerate.
    """

    def __init__(self, redis: Redis, key: str, per_second: float) -> None:
        self._redis = redis
        self._key = f"forewarn:rate:{key}"
        # Rates under 1/s use longer windows holding one message each.
        self._window = max(1.0, 1.0 / per_second)
        self._capacity = max(1, math.floor(per_second * self._window))
        self._block = min(self._capacity, max(BLOCK, self._capacity // BLOCKS_PER_WINDOW))
        self._tokens = 0
        self._tokens_window = -1
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until this process may make one more call in the current window, then return.

        Sleeps to the next window (at most one window: 1 s, or 1/``per_second`` s when that
        is longer) while Redis says the window's capacity is spent; Redis errors propagate.
        """
        async with self._lock:
            while True:
                now = time.time()
                window = math.floor(now / self._window)
                if self._tokens_window == window and self._tokens > 0:
                    self._tokens -= 1
                    return
                granted = await self._take(window)
                if granted:
                    self._tokens, self._tokens_window = granted - 1, window
                    return
                await asyncio.sleep((window + 1) * self._window - now)

    async def _take(self, window: int) -> int:
        key = f"{self._key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, self._block)
            pipe.expire(key, math.ceil(self._window) + 1)
            count, _ = await pipe.execute()
        before = int(count) - self._block
        return max(0, min(self._block, self._capacity - before))
