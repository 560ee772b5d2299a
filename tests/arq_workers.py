"""Stopping an arq worker that a test runs in its own event loop."""

from __future__ import annotations

import asyncio
import contextlib

from arq.worker import Worker

# A job in flight at the end of a test is given this long to finish.
FINISH_SECONDS = 30


async def stop(worker: Worker, task: asyncio.Task[None]) -> None:
    """Stop ``worker``, running as ``task`` (``worker.async_run()``): it takes no new job,
    the jobs in flight finish, then it closes. arq's ``close()`` alone cancels the jobs it
    finds running and then raises their ``CancelledError`` into the test's teardown."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if worker.tasks:
        await asyncio.wait(worker.tasks.values(), timeout=FINISH_SECONDS)
    await worker.close()
