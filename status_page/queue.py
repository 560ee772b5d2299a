"""The web process's handle on the job queue: enqueue after commit, never before."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable

from aiohttp import web
from arq import create_pool
from redis.exceptions import RedisError

from notifier.delivery.jobs import redis_settings
from status_page import keys

log = logging.getLogger(__name__)


async def pool(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    if not settings.redis_url:
        raise RuntimeError("the web app needs a Redis URL (the CLI starts an embedded one)")
    redis = await create_pool(redis_settings(settings.redis_url))
    app[keys.QUEUE] = redis
    yield
    await redis.aclose()


async def enqueue_fan_outs(app: web.Application, ids: Iterable[str]) -> None:
    for notification_id in ids:
        try:
            await app[keys.QUEUE].enqueue_job(
                "fan_out", notification_id, _job_id=f"fan_out:{notification_id}"
            )
        except (RedisError, OSError) as exc:
            # The row is committed; the sweeper will enqueue it within a minute.
            log.warning("could not enqueue notification %s: %s", notification_id, exc)
