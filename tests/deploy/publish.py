"""The worker's own publisher, run once in the test's process: every public URL rendered
through the application (``status_page.snapshot.AppRenderer``) and written as a release
by the folder target, under the lock and bookkeeping of ``notifier.page.publishing``,
as ``forewarn publish`` does. Used by ``tests/deploy``."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from config import Settings
from notifier.page.folder_target import FolderTarget
from notifier.page.publishing import Publisher
from status_page.snapshot import AppRenderer


async def publish(settings: Settings, snapshot: Path) -> Path:
    """Publish what ``settings``' database holds now into ``snapshot`` (the folder that
    holds ``current``); returns the release folder ``current`` points at."""
    redis = Redis.from_url(settings.redis_url)
    renderer = AppRenderer(settings)
    target = FolderTarget(snapshot)
    publisher = Publisher(redis, renderer, target, ZoneInfo(settings.page_time_zone))
    try:
        await publisher.refresh(force=True)
    finally:
        await renderer.close()
        await redis.aclose()
    current = target.current()
    assert current is not None
    return current
