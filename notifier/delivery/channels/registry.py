"""Which channel classes serve this deployment: providers, or the dev outbox."""

from __future__ import annotations

from contextlib import AsyncExitStack

import aiohttp
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.delivery.channels.base import Channel
from notifier.delivery.channels.email import SendGridEmail
from notifier.delivery.channels.inapp import InAppChannel
from notifier.delivery.channels.outbox import OutboxChannel
from notifier.delivery.channels.sms import TwilioSms
from notifier.delivery.pauses import Pause
from notifier.delivery.ratelimit import SharedRateLimit
from notifier.statuses import ChannelName


async def build(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    stack: AsyncExitStack,
) -> dict[str, Channel]:
    """Channels by name; resources they open are closed with ``stack``."""
    delivery = settings.delivery
    channels: dict[str, Channel] = {ChannelName.inapp: InAppChannel(sessions, redis)}
    if settings.sendgrid.configured:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        channels[ChannelName.email] = SendGridEmail(
            settings.sendgrid,
            http,
            from_name=settings.page_name,
            timeout=delivery.provider_timeout_seconds,
            pause=pause(redis, ChannelName.email, settings),
        )
    else:
        channels[ChannelName.email] = OutboxChannel(ChannelName.email, sessions)
    if settings.twilio.configured:
        sender = settings.twilio.messaging_service_sid or settings.twilio.from_number
        sms = TwilioSms(
            settings.twilio,
            status_callback=str(settings.public_url).rstrip("/") + "/webhooks/twilio/status",
            limit=SharedRateLimit(redis, f"sms:{sender}", delivery.sms_per_second),
            timeout=delivery.provider_timeout_seconds,
            concurrency=delivery.sms_concurrency,
            pause=pause(redis, ChannelName.sms, settings),
        )
        stack.push_async_callback(sms.close)
        channels[ChannelName.sms] = sms
    else:
        channels[ChannelName.sms] = OutboxChannel(ChannelName.sms, sessions)
    return channels


def pause(redis: Redis, channel: str, settings: Settings) -> Pause:
    """The pause ``channel``'s provider imposes on every worker when it refuses everyone
    (``notifier.delivery.pauses``); a refusal naming no time pauses for the retry base."""
    return Pause(redis, channel, unsaid=settings.delivery.retry_base_seconds)
