"""Abuse limits of the sign-up form, counted in Redis."""

from __future__ import annotations

import redis.asyncio

from config import Settings, SubscribeSettings
from notifier import signup


async def test_limits_count_per_address_and_never_store_it(settings: Settings) -> None:
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    limits = signup.Limits(client, SubscribeSettings(per_destination=2), "secret")

    answers = [await limits.allow_destination("sam@example.com") for _ in range(3)]
    other = await limits.allow_destination("kim@example.com")
    keys = [k.decode() for k in await client.keys("forewarn:signup:*")]
    await client.aclose()

    assert answers == [True, True, False]
    assert other is True
    assert len(keys) == 2
    assert not any("example" in k for k in keys)


async def test_limit_keys_are_the_ones_earlier_releases_counted_under(settings: Settings) -> None:
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    limits = signup.Limits(client, SubscribeSettings(), "legacy-secret-for-a-frozen-token")

    await limits.allow_ip("email", "203.0.113.7")
    keys = [k.decode() for k in await client.keys("forewarn:signup:*")]
    await client.aclose()

    # The HMAC computed by the code before notifier.signing: counts carry over an upgrade.
    [key] = keys
    assert key.startswith("forewarn:signup:ip:email:ef8549d09933cf08f9be1a086d768d8a:")
