"""A live worker's jobs stay its own; a killed worker's run again within the lease.

arq marks a running job with an in-progress key that lives for the longest job timeout
plus 10 s (610 s here): a job whose worker was killed runs again only when that key
expires, and until then nobody can enqueue its id again. Here the key lives for the
claim lease (``claim_lease_seconds``) and each worker renews it, every third of that,
for every job it runs: a slow job of a live worker is never taken for a lost one, and a
killed worker's jobs go to another worker about one lease after the kill.
"""

from __future__ import annotations

import asyncio
import logging

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

log = logging.getLogger(__name__)


class JobHeartbeat:
    """Keeps the arq in-progress keys of this worker's running jobs alive (see the module)."""

    def __init__(self, redis: ArqRedis, lease_seconds: float) -> None:
        self._redis = redis
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._every = lease_seconds / 3
        self._running: set[str] = set()

    def started(self, job_id: str) -> None:
        """Renew ``job_id``'s key from the next beat on."""
        self._running.add(job_id)

    def finished(self, job_id: str) -> None:
        """Stop renewing ``job_id``'s key."""
        self._running.discard(job_id)

    async def run(self) -> None:
        """Renew the in-progress keys of this worker's jobs until cancelled."""
        while True:
            await asyncio.sleep(self._every)
            if not self._running:
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for job_id in self._running:
                        # PEXPIRE leaves a key that is gone (its job just finished) gone.
                        pipe.pexpire(in_progress_key_prefix + job_id, self._lease_ms)
                    await pipe.execute()
            # Never let the beat stop: without it, other workers take this one's jobs.
            except Exception:  # the next beat may do better; the lease is three beats long
                log.exception("could not renew the in-progress keys of %d jobs", len(self._running))
