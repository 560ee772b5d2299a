"""A worker's heartbeat keeps the jobs it runs in progress past the lease; a job it does
not run (its worker gone) lapses, so that another worker runs it again."""

from __future__ import annotations

import asyncio
import contextlib

import arq
from arq.constants import in_progress_key_prefix

from config import Settings
from notifier.delivery.jobs import redis_settings
from workers import create_worker
from workers.heartbeat import JobHeartbeat


async def test_running_jobs_stay_in_progress_past_the_lease_and_lost_ones_lapse(
    redis_url: str,
) -> None:
    pool = await arq.create_pool(redis_settings(redis_url))
    for job in ("running", "finished", "lost"):
        await pool.psetex(in_progress_key_prefix + job, 1000, b"1")  # a one-second lease
    heartbeat = JobHeartbeat(pool, lease_seconds=1)
    heartbeat.started("running")
    heartbeat.started("finished")
    heartbeat.finished("finished")
    beating = asyncio.create_task(heartbeat.run())
    try:
        await asyncio.sleep(2.5)  # past the lease twice over: only renewals keep a key
        kept = {
            job
            for job in ("running", "finished", "lost")
            if await pool.exists(in_progress_key_prefix + job)
        }
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        await pool.aclose()
    assert kept == {"running"}


def test_a_worker_marks_its_jobs_in_progress_for_the_lease_not_the_longest_timeout(
    settings: Settings, redis_url: str
) -> None:
    worker = create_worker(settings, redis_url, handle_signals=False)

    assert worker.in_progress_timeout_s == settings.delivery.claim_lease_seconds == 20
