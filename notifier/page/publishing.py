"""When the page is published: after every change (coalesced), and as a safety net.

Every bump of the page generation (``generation.bump``, after a commit that changes the
page) enqueues a ``publish_page`` job for its token, deferred by
``generation.PUBLISH_DELAY``. The job (``Publisher.publish``):

1. does nothing if the generation has moved on: the newer bump has its own job, so a
   burst of changes publishes once, after its last;
2. takes a lock in Redis (one publication at a time across workers), waiting while
   another runs unless the generation moves on meanwhile;
3. renders every public URL and publishes the release to the target.

Still, a steady stream of changes, each closer than the delay to the next, would never
leave its last alone: a job publishes anyway once a change has waited ``MAX_WAIT``
seconds (``generation.PENDING``, set by the first bump after a publication started).

And the cron ``refresh_page`` (every minute) publishes when the published generation is
not the current one (a bump whose job was lost with Redis), when the day changed in the
page's zone (the uptime bars and "today"), or when the last publication is older than
``REFRESH_MINUTES`` (what depends on the time alone).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from config import SnapshotSettings
from notifier.db import utcnow
from notifier.page import generation, snapshot
from notifier.page.folder_target import FolderTarget

log = logging.getLogger(__name__)

LOCK = "forewarn:publish-lock"
PUBLISHED = "forewarn:published"  # hash: generation, at (epoch seconds), day (page zone)
LOCK_SECONDS = 120  # longer than any publication; a killed worker's lock lapses
MAX_WAIT = 5.0  # seconds a change may wait for a publication under a steady stream
REFRESH_MINUTES = 10
POLL = 0.05  # seconds between looks at a held lock


class Publisher:
    """Renders with ``renderer`` and publishes to ``target``, coordinated through ``redis``."""

    def __init__(
        self,
        redis: Redis,
        renderer: snapshot.Renderer,
        target: snapshot.Target,
        zone: ZoneInfo,
    ) -> None:
        self._redis = redis
        self._renderer = renderer
        self._target = target
        self._zone = zone
        self.publications = 0  # this process's, since it started

    async def publish(self, token: str) -> bool:
        """The ``publish_page`` job for the bump that set ``token``; True if it published.
        Raises ``SnapshotError`` or ``OSError`` (the previous release stays)."""
        if not await self._due(token):
            return False
        lock = await self._lock(token)
        if lock is None:
            return False
        try:
            # Re-read under the lock: the publication we waited for may have covered us.
            if not await self._due(token):
                return False
            await self._publish(token)
            return True
        finally:
            await self._unlock(lock)

    async def refresh(self, *, force: bool = False) -> bool:
        """The ``refresh_page`` cron: publish if the published page is not current, is
        from another day in the page's zone, or is older than ``REFRESH_MINUTES`` (or
        with ``force``, ``forewarn publish``)."""
        token = (await generation.current(self._redis)).decode()
        published = await self._redis.hgetall(PUBLISHED)  # type: ignore[misc]
        at = float(published.get(b"at", 0))
        stale = (
            force
            or published.get(b"generation", b"").decode() != token
            or published.get(b"day", b"").decode() != self._today()
            or time.time() - at > REFRESH_MINUTES * 60
        )
        if not stale:
            return False
        lock = await self._lock(None)
        if lock is None:
            return False
        try:
            await self._publish(token)
        finally:
            await self._unlock(lock)
        return True

    async def _due(self, token: str) -> bool:
        """Whether ``token`` is the current generation, or a change waited too long."""
        current = (await generation.current(self._redis)).decode()
        published = await self._redis.hget(PUBLISHED, "generation")  # type: ignore[misc]
        if published is not None and published.decode() == current:
            return False  # a publication after our bump already covered it
        if current == token:
            return True
        pending = await self._redis.get(generation.PENDING)
        return pending is not None and time.time() - float(pending) > MAX_WAIT

    async def _lock(self, token: str | None) -> str | None:
        """Take the lock, waiting while another holds it; None once ``token`` is
        superseded meanwhile (its newer bump will publish)."""
        value = secrets.token_hex(8)
        while not await self._redis.set(LOCK, value, nx=True, ex=LOCK_SECONDS):
            await asyncio.sleep(POLL)
            if token is not None and (await generation.current(self._redis)).decode() != token:
                return None
        return value

    async def _unlock(self, value: str) -> None:
        # Only our own lock: one that lapsed and was taken by another stays theirs.
        if (await self._redis.get(LOCK)) == value.encode():
            await self._redis.delete(LOCK)

    async def _publish(self, token: str) -> None:
        started = time.perf_counter()
        now = utcnow()
        # What changes from here on is not in this rendering: it waits for the next one.
        await self._redis.delete(generation.PENDING)
        files = await self._renderer.render()
        release = snapshot.release(files, token, now)
        await self._target.publish(release)
        await self._redis.hset(  # type: ignore[misc]
            PUBLISHED,
            mapping={"generation": token, "at": now.timestamp(), "day": self._today(now)},
        )
        self.publications += 1
        log.info(
            "published the page (release %s, %d files) in %.2f s",
            release.id,
            len(release.files),
            time.perf_counter() - started,
        )

    def _today(self, now: datetime | None = None) -> str:
        return (now or utcnow()).astimezone(self._zone).date().isoformat()


def target(settings: SnapshotSettings) -> snapshot.Target:
    """The configured target. Raises ValueError for ``off`` (nothing to publish to)."""
    if settings.target == "folder":
        return FolderTarget(settings.dir)
    if settings.target == "s3":
        # Imported here: boto3 costs a worker that does not use it a fifth of a second.
        from notifier.page.s3_target import S3Target

        return S3Target(settings)
    raise ValueError("FOREWARN_SNAPSHOT__TARGET is off: there is no target")
