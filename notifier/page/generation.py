"""The public page's generation: a token in Redis replaced after every commit that can
change what the page shows. Web processes tag cached pages with the token they read
(``status_page.cache``) and serve a cached page only while Redis still holds that token.

A random token rather than a counter: a flushed or replaced Redis starts again without
the key, and a counter would climb back through values that old cached pages carry.
"""

from __future__ import annotations

import logging
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "forewarn:page-generation"


async def bump(redis: Redis) -> None:
    """Call after the commit, before answering: later reads anywhere see a new token."""
    try:
        await redis.set(KEY, secrets.token_hex(8))
    except (RedisError, OSError) as exc:
        # The change is committed; cached pages age out (status_page.cache.MAX_AGE).
        log.warning("could not bump the page generation: %s", exc)


async def current(redis: Redis) -> bytes:
    """The token now; a missing key (new or flushed Redis) gets a new token first."""
    token: bytes | None = await redis.get(KEY)
    if token is None:
        await redis.set(KEY, secrets.token_hex(8), nx=True)
        token = await redis.get(KEY)
    return token or b""
