"""The arq worker, built from Forewarn's settings."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.worker import Worker

from config import Settings
from notifier.db import create_engine, sessionmaker
from notifier.queue import redis_settings
from workers import jobs

CRON_JOBS = [
    # Every 30 s: a maintenance starts or ends at most half a minute late.
    cron(jobs.maintenance_tick, second={0, 30}, run_at_startup=True, unique=True, timeout=60),
    cron(jobs.prune_idempotency, minute=17, second=0, unique=True, timeout=300),
]
FUNCTIONS = [jobs.maintenance_tick, jobs.prune_idempotency]


def create_worker(settings: Settings, redis_url: str, **options: Any) -> Worker:
    """A worker on ``redis_url``; ``options`` go to arq (``burst=True`` in tests)."""

    async def startup(ctx: jobs.Ctx) -> None:
        engine = create_engine(settings.database_url)
        ctx["engine"] = engine
        ctx["sessions"] = sessionmaker(engine)
        ctx["settings"] = settings

    async def shutdown(ctx: jobs.Ctx) -> None:
        await ctx["engine"].dispose()

    options.setdefault("cron_jobs", CRON_JOBS)
    return Worker(
        functions=FUNCTIONS,
        redis_settings=redis_settings(redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        **options,
    )
