"""A worker's job context, built as ``workers.settings`` builds it at start-up (real
channels: providers or the dev outbox, a real Redis), for calling a cron job's function
at a time the test chooses (time-machine) rather than when arq's cron would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import arq
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.delivery.channels import registry
from notifier.delivery.jobs import redis_settings
from workers.jobs import Ctx


@asynccontextmanager
async def job_context(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Ctx]:
    async with AsyncExitStack() as stack:
        pool = await arq.create_pool(redis_settings(settings.redis_url))
        stack.push_async_callback(pool.aclose)
        channels = await registry.build(settings, sessions, pool, stack)
        yield {"redis": pool, "sessions": sessions, "settings": settings, "channels": channels}
