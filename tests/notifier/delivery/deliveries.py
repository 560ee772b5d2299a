"""Helpers for tests of the delivery engine: its rows, a sender as the worker builds it,
fan-out without a worker, and settings with other delivery limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery import fanout
from notifier.delivery.channels import registry
from notifier.delivery.sending import Sender
from notifier.tables import Delivery, Notification

Sessions = async_sessionmaker[AsyncSession]


def with_delivery(settings: Settings, **delivery: Any) -> Settings:
    """The same settings with these ``FOREWARN_DELIVERY__*`` values."""
    merged = settings.delivery.model_validate({**settings.delivery.model_dump(), **delivery})
    return settings.model_copy(update={"delivery": merged})


async def rows(sessions: Sessions) -> list[Delivery]:
    """Every delivery row, by id."""
    async with sessions() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def failed_once(sessions: Sessions) -> bool:
    """Every row has been tried, failed, and waits for its retry (not merely fanned out:
    a fresh row is pending too)."""
    found = await rows(sessions)
    return bool(found) and all(r.status == "pending" and r.last_error for r in found)


async def fan_out_now(sessions: Sessions, settings: Settings) -> list[int]:
    """Fan out every notification there is, without a worker; returns the delivery ids."""
    async with sessions() as session:
        ids = list((await session.scalars(select(Notification.id))).all())
    for notification_id in ids:
        done = False
        while not done:
            async with sessions() as session, session.begin():
                _batches, done = await fanout.fan_out_page(
                    session, notification_id, settings.delivery, now=utcnow()
                )
    return [row.id for row in await rows(sessions)]


@asynccontextmanager
async def sender(settings: Settings) -> AsyncIterator[Sender]:
    """A ``Sender`` with the channels a worker on ``settings`` would have."""
    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        stack.push_async_callback(redis.aclose)
        sessions = sessionmaker(engine)
        channels = await registry.build(settings, sessions, redis, stack)
        yield Sender(sessions, channels, settings)
