"""When the page is published: after every change (coalesced), and as a safety net.

Every bump of the page generation (``generation.bump``, after a commit that changes the
page) enqueues a ``publish_page`` job for its token, deferred by
``generation.PUBLISH_DELAY``. The job (``Publisher.publish``):

1. does nothing if the generation has moved on: the newer bump has its own job, so a
   burst of changes publishes once, after its last;
2. takes a lock in Redis (one publication at a time across workers), waiting while
   another runs unless the generation moves on meanwhile;
3. renders what the changes since the last publication touched (``generation.TOUCHED``:
   the pages of the incidents they were about, plus what every publication renders:
   the home page, the v2 documents, the feeds...), reuses the other files of the last
   release this process published, and publishes the whole release to the target. It
   renders every file when a change may show anywhere (a component, the page's
   settings), when another process published last, or after a failure.

Still, a steady stream of changes, each closer than the delay to the next, would never
leave its last alone: a job publishes anyway once a change has waited ``MAX_WAIT``
seconds (``generation.PENDING``, set by the first bump after a publication started).

And the cron ``refresh_page`` (every minute) publishes when the published generation is
not the current one (a bump whose job was lost with Redis), when the day changed in the
page's zone (the uptime bars and "today"), or when the last publication of every file is
older than ``REFRESH_MINUTES`` (what depends on the time alone: "ongoing for 2 hours" on a
page no change touched); it always renders every file.
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
# hash: generation, release (its id), at and full_at (epoch seconds: the last publication,
# the last that rendered every file), day (page zone)
PUBLISHED = "forewarn:published"
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
        self.rendered = 0  # files its last publication rendered anew (the others were reused)
        # The release this process published last and its rendering, to reuse from.
        self._last: tuple[str, snapshot.Rendering] | None = None

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
        at = float(published.get(b"full_at", 0))
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
            await self._publish(token, full=True)
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

    async def _publish(self, token: str, *, full: bool = False) -> None:
        started = time.perf_counter()
        now = utcnow()
        # What changes from here on is not in this rendering: it waits for the next one.
        await self._redis.delete(generation.PENDING)
        touched = await generation.take_touched(self._redis)
        previous = await self._previous()
        if full or touched is None or previous is None:
            touched, previous = None, None
        try:
            rendering = await self._renderer.render(touched, previous)
            release = snapshot.release(rendering.files, token, now)
            await self._target.publish(release)
        except BaseException:
            # The ids taken above were not published: the next publication renders all.
            await generation.touch_everything(self._redis)
            raise
        mapping: dict[str, str | float] = {
            "generation": token,
            "release": release.id,
            "at": now.timestamp(),
            "day": self._today(now),
        }
        if touched is None:
            mapping["full_at"] = now.timestamp()
        await self._redis.hset(PUBLISHED, mapping=mapping)  # type: ignore[misc]
        self._last = (release.id, rendering)
        self.publications += 1
        self.rendered = rendering.rendered
        log.info(
            "published the page (release %s, %d files, %d rendered) in %.2f s",
            release.id,
            len(release.files),
            rendering.rendered,
            time.perf_counter() - started,
        )

    async def _previous(self) -> snapshot.Rendering | None:
        """This process's last rendering if its release is the one published now."""
        if self._last is None:
            return None
        published = await self._redis.hget(PUBLISHED, "release")  # type: ignore[misc]
        release_id, rendering = self._last
        return rendering if published == release_id.encode() else None

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
