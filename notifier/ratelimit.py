"""A rate limit shared by every worker through Redis (fixed one-second windows)."""

from __future__ import annotations

import asyncio
import math
import time

from redis.asyncio import Redis


class SharedRateLimit:
    """At most ``per_second`` acquisitions a second across all processes on one Redis.

    Fixed windows (INCR + EXPIRE in one round trip): simple and exact per window;
    a burst can straddle two windows, which providers' own limits tolerate.
    """

    def __init__(self, redis: Redis, key: str, per_second: float) -> None:
        self._redis = redis
        self._key = f"forewarn:rate:{key}"
        # Rates under 1/s use longer windows holding one message each.
        self._window = max(1.0, 1.0 / per_second)
        self._capacity = max(1, math.floor(per_second * self._window))

    async def acquire(self) -> None:
        while True:
            now = time.time()
            window = math.floor(now / self._window)
            key = f"{self._key}:{window}"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, math.ceil(self._window) + 1)
                count, _ = await pipe.execute()
            if count <= self._capacity:
                return
            await asyncio.sleep((window + 1) * self._window - now)
