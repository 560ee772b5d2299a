"""The arq worker, built from Forewarn's settings."""

from __future__ import annotations

import gc
from contextlib import AsyncExitStack
from typing import Any

from arq import cron, func
from arq.worker import Worker

from config import Settings
from notifier.channels import registry
from notifier.db import create_engine, sessionmaker
from notifier.queue import redis_settings
from notifier.sending import Sender
from workers import jobs

CRON_JOBS = [
    # Every 30 s: a maintenance starts or ends at most half a minute late.
    cron(jobs.maintenance_tick, second={0, 30}, run_at_startup=True, unique=True, timeout=60),
    cron(jobs.sweep, second={5, 20, 35, 50}, unique=True, timeout=60),
    cron(jobs.prune_idempotency, minute=17, second=0, unique=True, timeout=300),
    cron(jobs.expire_signups, second=40, unique=True, timeout=60),
]
FUNCTIONS = [
    # keep_result=0: a job id only dedupes while queued or running, so the sweeper
    # can enqueue the same work again once it is known to be lost.
    func(jobs.fan_out, keep_result=0, max_tries=20, timeout=600),
    func(jobs.send_batch, keep_result=0, max_tries=1000, timeout=300),
    jobs.sweep,
    jobs.maintenance_tick,
    jobs.prune_idempotency,
    func(jobs.send_signup_message, keep_result=0, max_tries=8, timeout=60),
    jobs.expire_signups,
]


def create_worker(settings: Settings, redis_url: str, **options: Any) -> Worker:
    """A worker on ``redis_url``; ``options`` go to arq (``burst=True`` in tests)."""
    stack = AsyncExitStack()

    async def startup(ctx: jobs.Ctx) -> None:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        sessions = sessionmaker(engine)
        channels = await registry.build(settings, sessions, ctx["redis"], stack)
        ctx.update(
            engine=engine,
            sessions=sessions,
            settings=settings,
            channels=channels,
            sender=Sender(sessions, channels, settings),
        )
        # What exists now (modules, clients, pools) lives as long as the worker: keep it
        # out of the collector, whose full passes over it were pauses of up to a second.
        gc.freeze()

    async def shutdown(ctx: jobs.Ctx) -> None:
        await stack.aclose()

    options.setdefault("cron_jobs", CRON_JOBS)
    options.setdefault("poll_delay", 0.05)  # a new incident's first message waits no longer
    options.setdefault("max_jobs", 20)
    return Worker(
        functions=FUNCTIONS,  # type: ignore[arg-type]
        redis_settings=redis_settings(redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        **options,
    )
