"""Which channels a deployment sends with: a provider where its settings are given,
the dev outbox where they are not, and the in-app inbox always."""

from __future__ import annotations

from contextlib import AsyncExitStack

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import create_engine, sessionmaker
from notifier.delivery.channels import registry
from notifier.delivery.channels.email import SendGridEmail
from notifier.delivery.channels.inapp import InAppChannel
from notifier.delivery.channels.outbox import OutboxChannel
from notifier.delivery.channels.sms import TwilioSms


async def channel_types(settings: Settings) -> dict[str, type]:
    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)
    sessions: async_sessionmaker[AsyncSession] = sessionmaker(engine)
    try:
        async with AsyncExitStack() as stack:
            channels = await registry.build(settings, sessions, redis, stack)
            return {name: type(channel) for name, channel in channels.items()}
    finally:
        await redis.aclose()
        await engine.dispose()


async def test_without_provider_settings_email_and_sms_go_to_the_dev_outbox(
    settings: Settings,
) -> None:
    assert await channel_types(settings) == {
        "inapp": InAppChannel,
        "email": OutboxChannel,
        "sms": OutboxChannel,
    }


async def test_with_provider_settings_sendgrid_and_twilio_send(provider_settings: Settings) -> None:
    assert await channel_types(provider_settings) == {
        "inapp": InAppChannel,
        "email": SendGridEmail,
        "sms": TwilioSms,
    }
