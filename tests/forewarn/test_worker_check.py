"""``forewarn worker --check``, the workers' container health check
(``workers/liveness.py``): a real worker beats, the real command reads the beat."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import arq
from arq.connections import ArqRedis
from arq.worker import Worker

from config import Settings
from notifier.db import create_engine
from notifier.delivery.jobs import redis_settings
from tests import arq_workers
from tests.conftest import make_settings
from tests.forewarn.command import Forewarn, environment, free_port
from workers import create_worker, liveness
from workers.liveness import Liveness


async def until_alive(pool: ArqRedis) -> None:
    """Until this host's liveness key exists (polled: Redis tells of no write)."""
    async with asyncio.timeout(30):
        while not await pool.exists(liveness.key()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(worker: Worker, redis_url: str) -> AsyncIterator[None]:
    """``worker`` running until the block ends, once it has written its liveness key."""
    task = asyncio.create_task(worker.async_run())
    pool = await arq.create_pool(redis_settings(redis_url))
    try:
        await until_alive(pool)
        yield
    finally:
        await pool.aclose()
        await arq_workers.stop(worker, task)


async def test_it_says_ok_while_the_worker_on_this_host_runs(
    forewarn: Forewarn, env: dict[str, str], settings: Settings, redis_url: str
) -> None:
    worker = create_worker(settings, redis_url, handle_signals=False, cron_jobs=[])
    async with running(worker, redis_url):
        result = await forewarn.run("worker", "--check", env=env)

    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


async def test_it_fails_with_no_worker(forewarn: Forewarn, env: dict[str, str]) -> None:
    result = await forewarn.run("worker", "--check", env=env)

    assert result.returncode == 1
    assert "worker not healthy: no worker on this host" in result.stderr


async def test_it_fails_once_a_stopped_worker_s_lease_has_passed(
    forewarn: Forewarn, env: dict[str, str], database_url: str, redis_url: str
) -> None:
    brief = make_settings(database_url, redis_url, delivery={"claim_lease_seconds": 1})
    worker = create_worker(brief, redis_url, handle_signals=False, cron_jobs=[])
    async with running(worker, redis_url):
        pass
    await asyncio.sleep(1.5)  # past the one-second lease: nobody renewed the key

    result = await forewarn.run("worker", "--check", env=env)

    assert result.returncode == 1
    assert "no worker on this host" in result.stderr


async def test_it_fails_when_the_worker_s_database_does_not_answer(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    # A SQLite file in a folder that does not exist: nothing answers (on either engine).
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'forewarn.db'}")
    pool = await arq.create_pool(redis_settings(redis_url))
    beating = asyncio.create_task(Liveness(pool, engine, lease_seconds=20).run())
    try:
        await until_alive(pool)
        result = await forewarn.run("worker", "--check", env=env)
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        await pool.aclose()
        await engine.dispose()

    assert result.returncode == 1
    assert result.stderr == (
        "forewarn: worker not healthy: database did not answer (OperationalError)\n"
    )


async def test_it_fails_when_redis_does_not_answer(forewarn: Forewarn, database_url: str) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    env = environment(FOREWARN_DATABASE_URL=database_url, FOREWARN_REDIS_URL=nobody)

    result = await forewarn.run("worker", "--check", env=env)

    assert result.returncode == 1
    assert "worker not healthy: Redis did not answer" in result.stderr


async def test_it_needs_a_redis_url(forewarn: Forewarn, database_url: str) -> None:
    env = environment(FOREWARN_DATABASE_URL=database_url)

    result = await forewarn.run("worker", "--check", env=env)

    assert result.returncode == 2
    assert "FOREWARN_REDIS_URL" in result.stderr
