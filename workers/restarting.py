"""A worker that outlives a lost Redis.

arq's worker stops for good at the first Redis call that fails in its polling loop (a
Redis restarted, a failover, a network blip): every ``forewarn worker`` would exit and
the work would wait for someone to start them again. Here the failed arq worker lets its
running jobs finish (their database work and provider calls need no Redis), releases
its resources, and a new one starts once Redis answers again. Jobs lost with Redis are
found again by the sweeper; a job whose end could not be recorded runs again
(at-least-once), and sends only what it had not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.worker import Worker
from redis.exceptions import RedisError

from config import Settings
from notifier.page.snapshot import Renderer
from workers.settings import create_worker

log = logging.getLogger(__name__)
# Seconds between attempts to start again: doubling from the first to the last.
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 5.0
# Seconds a failed worker's running jobs may take to finish before they are cancelled.
JOBS_GRACE = 10.0


class RestartingWorker:
    """``create_worker(settings, redis_url, **options)``, started again after Redis failed it.

    ``worker`` is the current arq worker (stop it with its ``close``, after cancelling
    the ``run`` task).
    """

    def __init__(
        self,
        settings: Settings,
        redis_url: str,
        *,
        renderer: Renderer | None = None,
        **options: Any,
    ) -> None:
        self._settings = settings
        self._redis_url = redis_url
        self._renderer = renderer
        self._options = options
        self.worker = create_worker(settings, redis_url, renderer=renderer, **options)

    async def run(self) -> None:
        """Run until cancelled; raises what is not a Redis failure."""
        pause = FIRST_PAUSE
        while True:
            try:
                await self.worker.async_run()
                return
            except (RedisError, OSError) as exc:
                log.warning(
                    "the worker lost Redis (%s); starting again in %.1f s",
                    type(exc).__name__,
                    pause,
                )
            await _release(self.worker)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
            self.worker = create_worker(
                self._settings, self._redis_url, renderer=self._renderer, **self._options
            )


async def _release(worker: Worker) -> None:
    """Let a failed worker's jobs finish (``JOBS_GRACE``), then run its shutdown (the
    job heartbeat stops, the database engine and provider sessions close)."""
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=JOBS_GRACE)
    for task in running:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*running, return_exceptions=True)
    if worker.on_shutdown is not None:
        await worker.on_shutdown(worker.ctx)
    pool = worker.ctx.get("redis")  # None: it failed before it had one
    if pool is not None:
        with contextlib.suppress(RedisError, OSError):
            await pool.aclose()
