"""The fan-out job run again after its worker was lost: nothing its lost run created is
left behind. A real burst worker, the dev outbox, real database and Redis."""

from __future__ import annotations

import arq
import redis.asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import fanout, jobs
from notifier.delivery.jobs import redis_settings
from notifier.tables import Notification, OutboxMessage
from tests.conftest import Client
from workers import create_worker

ADDRESSES = [f"reader{i}@example.com" for i in range(5)]


async def test_a_fan_out_run_again_queues_the_batches_its_lost_run_never_queued(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    small = settings.model_copy(
        update={"delivery": settings.delivery.model_copy(update={"fanout_page_size": 2})}
    )
    for i, address in enumerate(ADDRESSES):
        response = await client.put(
            f"/api/v1/customers/reader-{i}",
            json={
                "email": address,
                "consent": {"channels": ["email"], "legal_basis": "contract"},
                "follows": {"page": True},
            },
            headers=admin,
        )
        assert response.status == 201
    posted = await client.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "body": "We are on it."},
        headers=admin,
    )
    assert posted.status == 201
    # The lost run: it committed its first pages and died before queueing their batches.
    async with sessions() as session, session.begin():
        notification_id = await session.scalar(select(Notification.id))
        assert notification_id is not None
        for _ in range(3):  # texts (none), in-app (none), then two emails
            await fanout.fan_out_page(session, notification_id, small.delivery, now=utcnow())
    queue = redis.asyncio.Redis.from_url(settings.redis_url)
    await queue.flushdb()
    await queue.aclose()
    # arq runs the job again, counting the try; no sweep runs here.
    pool = await arq.create_pool(redis_settings(settings.redis_url))
    await pool.enqueue_job(
        jobs.FAN_OUT, notification_id, _job_id=jobs.fan_out_id(notification_id), _job_try=2
    )
    await pool.aclose()
    worker = create_worker(small, small.redis_url, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.async_run()
    finally:
        await worker.close()

    async with sessions() as session:
        sent = (await session.scalars(select(OutboxMessage.to))).all()
    assert sorted(sent) == ADDRESSES
