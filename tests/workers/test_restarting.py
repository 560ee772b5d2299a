"""A worker outlives a lost Redis: once Redis is back, a new arq worker takes jobs again
(arq's own stops at the first failed poll). The fault tests (tests/resilience) show the
same for ``forewarn worker`` processes mid fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest
from arq import create_pool

from config import Settings
from notifier.delivery import jobs as names
from notifier.delivery.jobs import redis_settings
from tests.conftest import make_settings
from tests.resilience.cluster import RedisServer
from workers import RestartingWorker


async def test_it_takes_jobs_again_once_redis_is_back(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redis = RedisServer(tmp_path / "redis")
    await asyncio.to_thread(redis.start)
    own = make_settings(settings.database_url, redis.url)
    working = RestartingWorker(own, redis.url, handle_signals=False, cron_jobs=[])
    task = asyncio.create_task(working.run())
    try:
        for _ in range(600):  # started, with its connection pool
            if "redis" in working.worker.ctx:
                break
            await asyncio.sleep(0.05)
        first = working.worker
        with caplog.at_level(logging.WARNING, logger="workers.restarting"):
            await asyncio.to_thread(redis.stop)
            for _ in range(600):
                if "lost Redis" in caplog.text:
                    break
                await asyncio.sleep(0.05)
            assert "lost Redis" in caplog.text
        assert not task.done()
        await asyncio.to_thread(redis.start)

        pool = await create_pool(redis_settings(redis.url))
        try:
            job = await pool.enqueue_job(names.SWEEP)
            assert job is not None
            await job.result(timeout=60)  # raises if it never ran or failed
        finally:
            await pool.aclose()
        assert working.worker is not first
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await working.worker.close()
        await asyncio.to_thread(redis.stop)
