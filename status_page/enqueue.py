"""The web process's handle on the job queue: its pool, and enqueueing after commit,
never before. Job names and ids belong to ``notifier.delivery.jobs``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence

from aiohttp import web
from redis.exceptions import RedisError

from notifier.delivery import jobs
from notifier.delivery.fanout import Batch
from status_page import keys

log = logging.getLogger(__name__)


async def pool(app: web.Application) -> AsyncIterator[None]:
    """A ``cleanup_ctx``: the arq pool on the configured Redis as ``app[keys.QUEUE]``,
    connected on first use (the app starts while Redis is away). Raises ``RuntimeError``
    if no Redis URL is set (the CLI starts an embedded one)."""
    settings = app[keys.SETTINGS]
    if not settings.redis_url:
        raise RuntimeError("the web app needs a Redis URL (the CLI starts an embedded one)")
    redis = jobs.queue_client(settings.redis_url)
    app[keys.QUEUE] = redis
    yield
    await redis.aclose()


async def enqueue_fan_outs(app: web.Application, ids: Iterable[str]) -> None:
    """Enqueue the fan-out of each committed notification id; never raises for Redis."""
    for notification_id in ids:
        try:
            await jobs.enqueue_fan_outs(app[keys.QUEUE], [notification_id])
        except (RedisError, OSError) as exc:
            # The row is committed; the sweeper will enqueue it within a minute.
            log.warning("could not enqueue notification %s: %s", notification_id, exc)


async def enqueue_batches(app: web.Application, batches: Sequence[Batch]) -> None:
    """Enqueue committed delivery batches (a fallback's); never raises for Redis."""
    try:
        await jobs.enqueue_batches(app[keys.QUEUE], batches)
    except (RedisError, OSError) as exc:
        # The rows are committed and due: the sweeper enqueues them within a minute.
        log.warning("could not enqueue %d delivery batches: %s", len(batches), exc)


async def enqueue_signup_message(app: web.Application, signup_id: str) -> None:
    """Enqueue a committed sign-up's message; never raises for Redis."""
    try:
        await jobs.enqueue_signup_messages(app[keys.QUEUE], [signup_id])
    except (RedisError, OSError) as exc:
        # The row is committed: the worker's sign-up sweep sends it within a minute or two.
        log.warning("could not enqueue sign-up %s: %s", signup_id, exc)
