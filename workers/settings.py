"""The arq worker, built from Forewarn's settings."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from arq import cron, func
from arq.worker import Worker

from config import Settings
from notifier.db import create_engine, sessionmaker, uncancelled
from notifier.delivery import jobs as names
from notifier.delivery.channels import registry
from notifier.delivery.jobs import redis_settings
from notifier.delivery.sending import Sender
from notifier.page import generation, publishing
from notifier.page.snapshot import Renderer
from workers import jobs
from workers.heartbeat import JobHeartbeat
from workers.liveness import Liveness

log = logging.getLogger(__name__)
_Job = TypeVar("_Job", bound=Callable[..., Awaitable[Any]])


def _whole(job: _Job) -> _Job:
    """``job`` run to its end even when the worker stops meanwhile, as a page of a
    fan-out or a batch's claim is (``uncancelled``): a tick is short, and cut in a
    transaction it could leave SQLite's write lock taken. The same wrapper each time
    for the same job (a cron tick and its function are one coroutine)."""
    if job in _WHOLE:
        return cast(_Job, _WHOLE[job])

    @functools.wraps(job)
    async def whole(*args: Any, **kwargs: Any) -> Any:
        return await uncancelled(job(*args, **kwargs))

    _WHOLE[job] = whole
    return cast(_Job, whole)


_WHOLE: dict[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]] = {}


CRON_JOBS = [
    # Every 30 s: a maintenance starts or ends at most half a minute late.
    cron(
        _whole(jobs.maintenance_tick), second={0, 30}, run_at_startup=True, unique=True, timeout=60
    ),
    cron(_whole(jobs.sweep), second={5, 20, 35, 50}, unique=True, timeout=60),
    cron(_whole(jobs.prune_idempotency), minute=17, second=0, unique=True, timeout=300),
    cron(_whole(jobs.expire_signups), second=40, unique=True, timeout=60),
    # Every minute: a reminder ten minutes ahead is at most a minute early or late.
    cron(_whole(jobs.promise_tick), second=10, unique=True, timeout=120),
    cron(_whole(jobs.maintenance_reminders), second=25, unique=True, timeout=60),
    # Every 30 s: an unread urgent in-app message goes by email at most half a minute late.
    cron(_whole(jobs.fall_back_unread), second={10, 40}, unique=True, timeout=60),
    # Every minute: a rating prompt goes at most a minute after its delay.
    cron(_whole(jobs.rating_prompts), second=50, unique=True, timeout=120),
    # Every 30 s: ops hear of a low rating at most half a minute after it was given.
    cron(_whole(jobs.alert_follow_ups), second={15, 45}, unique=True, timeout=120),
    # Every minute (and at start): the static page, if a change's own publication was
    # lost, the day changed, or it is old (``notifier.page.publishing``).
    cron(jobs.refresh_page, second=55, run_at_startup=True, unique=True, timeout=300),
]
# Each under the name its owner declares (``notifier.delivery.jobs``), whatever the
# function is called here: a job enqueued by that name finds it.
FUNCTIONS = [
    # keep_result=0: a job id only dedupes while queued or running, so the sweeper can
    # enqueue the same work again once it is done. A killed worker's job needs no new id:
    # arq runs it again once its in-progress key lapses (``workers.heartbeat``).
    func(jobs.fan_out, name=names.FAN_OUT, keep_result=0, max_tries=20, timeout=600),
    func(jobs.send_batch, name=names.SEND_BATCH, keep_result=0, max_tries=1000, timeout=300),
    func(_whole(jobs.sweep), name=names.SWEEP),
    func(_whole(jobs.maintenance_tick), name=names.MAINTENANCE_TICK),
    func(_whole(jobs.prune_idempotency), name=names.PRUNE_IDEMPOTENCY),
    func(
        _whole(jobs.send_signup_message),
        name=names.SEND_SIGNUP_MESSAGE,
        keep_result=0,
        max_tries=8,
        timeout=60,
    ),
    func(_whole(jobs.expire_signups), name=names.EXPIRE_SIGNUPS),
    func(_whole(jobs.promise_tick), name=names.PROMISE_TICK),
    func(_whole(jobs.maintenance_reminders), name=names.MAINTENANCE_REMINDERS),
    func(_whole(jobs.fall_back_unread), name=names.FALL_BACK_UNREAD),
    func(_whole(jobs.rating_prompts), name=names.RATING_PROMPTS),
    func(_whole(jobs.alert_follow_ups), name=names.ALERT_FOLLOW_UPS),
    # The page's own jobs, named by ``notifier.page.generation``. One try: a failed or
    # lost publication is made again by ``refresh_page``.
    func(
        jobs.publish_page,
        name=generation.PUBLISH_JOB,
        keep_result=0,
        max_tries=1,
        timeout=publishing.LOCK_SECONDS,
    ),
    func(jobs.refresh_page, name=generation.REFRESH_JOB, keep_result=0, max_tries=1),
]


def create_worker(
    settings: Settings, redis_url: str, *, renderer: Renderer | None = None, **options: Any
) -> Worker:
    """A worker on ``redis_url``; ``options`` go to arq (``burst=True`` in tests).

    ``renderer`` renders the public page for its static snapshot (the ``forewarn``
    command passes ``status_page.snapshot.AppRenderer``: workers may not import the web
    app); without one, or with ``FOREWARN_SNAPSHOT__TARGET=off``, nothing is published.
    """
    stack = AsyncExitStack()

    lease = settings.delivery.claim_lease_seconds

    async def startup(ctx: jobs.Ctx) -> None:
        heartbeat = JobHeartbeat(ctx["redis"], lease)
        beating = asyncio.create_task(heartbeat.run())
        stack.push_async_callback(_cancel, beating)
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        sessions = sessionmaker(engine)
        channels = await registry.build(settings, sessions, ctx["redis"], stack)
        ctx.update(
            heartbeat=heartbeat,
            engine=engine,
            sessions=sessions,
            settings=settings,
            channels=channels,
            sender=Sender(sessions, channels, settings, ctx["redis"]),
        )
        if settings.snapshot.publishing and renderer is not None:
            ctx["publisher"] = publishing.Publisher(
                ctx["redis"],
                renderer,
                publishing.target(settings.snapshot),
                ZoneInfo(settings.page_time_zone),
            )
            stack.push_async_callback(renderer.close)
            warming = asyncio.create_task(_warm(renderer))
            stack.push_async_callback(_cancel, warming)
        elif settings.snapshot.publishing:
            log.warning("FOREWARN_SNAPSHOT__TARGET is set but this worker cannot render the page")
        living = asyncio.create_task(Liveness(ctx["redis"], engine, lease).run())
        stack.push_async_callback(_cancel, living)
        # What exists now (modules, clients, pools) lives as long as the worker: keep it
        # out of the collector, whose full passes over it were pauses of up to a second.
        gc.freeze()

    async def shutdown(ctx: jobs.Ctx) -> None:
        await stack.aclose()

    async def job_started(ctx: jobs.Ctx) -> None:
        ctx["heartbeat"].started(ctx["job_id"])

    async def job_ended(ctx: jobs.Ctx) -> None:
        ctx["heartbeat"].finished(ctx["job_id"])

    options.setdefault("cron_jobs", CRON_JOBS)
    options.setdefault("poll_delay", 0.05)  # a new incident's first message waits no longer
    options.setdefault("max_jobs", 20)
    worker = Worker(
        functions=FUNCTIONS,
        redis_settings=redis_settings(redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        on_job_start=job_started,
        on_job_end=job_ended,
        **options,
    )
    # arq's default is the longest job timeout plus 10 s (610 s); the heartbeat renews it.
    worker.in_progress_timeout_s = lease
    return worker


async def _warm(renderer: Renderer) -> None:
    try:
        await renderer.start()
    except OSError as exc:  # the first publication starts it again, and says why
        log.warning("could not start rendering the page: %s", exc)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
