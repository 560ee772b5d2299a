"""A provider refusing everyone (429, 5xx) pauses its channel for every worker.

One refusal says the provider is overloaded or rate-limiting the account, not that one
message is at fault: so the channel waits as a whole, until the time the provider asked
for (``Retry-After``), instead of each batch and each text finding out on its own with a
request of its own. The time lives in Redis, shared by every worker (a circuit breaker:
open until then); each process reads it at most every ``REFRESH`` seconds.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from redis import RedisError
from redis.asyncio import Redis

log = logging.getLogger(__name__)

# How stale a process's view of another worker's pause may be, in seconds.
REFRESH = 0.1
# Keep the later of two pauses (two workers refused at once; a 503 without Retry-After
# must not shorten a 429's longer wait). KEYS[1]: the key; ARGV: until (epoch s), ttl (ms).
_EXTEND = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > now then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return redis.call('GET', KEYS[1])
"""


class Pause:
    """Whether ``channel``'s provider is refusing everyone, and until when, across all
    processes on one Redis. Without Redis it is this process's pause only: a lost
    Redis must not stop sending."""

    def __init__(self, redis: Redis, channel: str, *, unsaid: float) -> None:
        self._redis = redis
        # Seconds a refusal that names no time (a 503 without Retry-After) pauses for.
        self._unsaid = unsaid
        self._key = f"forewarn:pause:{channel}"
        self._until = 0.0  # epoch seconds
        self._read_at = 0.0  # monotonic

    async def until(self) -> datetime | None:
        """When the provider may be asked again; None if it may be now."""
        now = time.time()
        if self._until <= now and time.monotonic() - self._read_at >= REFRESH:
            self._read_at = time.monotonic()
            try:
                found = await self._redis.get(self._key)
            except (RedisError, OSError):
                log.warning("could not read the %s pause from Redis", self._key)
                found = None
            self._until = max(self._until, float(found or 0))
        return datetime.fromtimestamp(self._until, UTC) if self._until > now else None

    def known(self) -> datetime | None:
        """``until`` as this process last knew it, without asking Redis (where a call
        must not wait: the order of a batch's calls is the order of its recipients)."""
        return datetime.fromtimestamp(self._until, UTC) if self._until > time.time() else None

    async def pause(self, seconds: float | None) -> datetime:
        """The provider refused everyone: ask it nothing for ``seconds`` (None: the time
        it names none for), or longer if another refusal asked for longer; returns until
        when."""
        seconds = self._unsaid if seconds is None else seconds
        until = time.time() + seconds
        self._until = max(self._until, until)
        try:
            found = await self._redis.eval(  # type: ignore[misc]
                _EXTEND, 1, self._key, repr(until), str(max(1, round(seconds * 1000)))
            )
        except (RedisError, OSError):
            log.warning("could not share the %s pause through Redis", self._key)
            found = None
        self._until = max(self._until, float(found or 0))
        return datetime.fromtimestamp(self._until, UTC)
