"""Abuse limits of the sign-up form, counted in Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from config import SubscribeSettings
from notifier import signing
from notifier.statuses import ChannelName


class Limits:
    """Sign-ups per IP and messages per address, counted in Redis in fixed windows.

    Keys hold an HMAC of the IP or address, never the thing itself.
    """

    def __init__(self, redis: Redis, settings: SubscribeSettings, secret: str) -> None:
        self._redis = redis
        self._settings = settings
        self._secret = secret

    async def allow_ip(self, channel: str, ip: str) -> bool:
        """Count a sign-up by ``channel`` from ``ip``; False once past the channel's
        limit per IP (``sms_per_ip`` per ``sms_per_ip_hours``, or the email ones)."""
        s = self._settings
        limit, hours = (
            (s.sms_per_ip, s.sms_per_ip_hours)
            if channel == ChannelName.sms
            else (s.email_per_ip, s.email_per_ip_hours)
        )
        return await self._hit(f"ip:{channel}", ip, limit, hours)

    async def allow_destination(self, address: str) -> bool:
        """Count a message to ``address``; False once past ``per_destination`` per
        ``per_destination_hours``."""
        s = self._settings
        return await self._hit("to", address, s.per_destination, s.per_destination_hours)

    async def _hit(self, kind: str, value: str, limit: int, hours: float) -> bool:
        seconds = max(1, round(hours * 3600))
        window = int(time.time() // seconds)
        digest = signing.mac(self._secret, "signup-limits", value).hex()[:32]
        key = f"forewarn:signup:{kind}:{digest}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, seconds + 60)
            count, _ = await pipe.execute()
        return int(count) <= limit
