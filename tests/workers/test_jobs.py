"""The worker's jobs (``workers/jobs.py``): the maintenance tick, the worker built from
settings, and a fan-out run again after its worker was lost."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import arq
import redis.asyncio
from arq.jobs import JobStatus
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import fanout
from notifier.delivery.jobs import FAN_OUT, fan_out_id, redis_settings
from notifier.tables import ComponentStatusChange, Notification, OutboxMessage
from tests.conftest import Client
from workers import create_worker
from workers.settings import CRON_JOBS

Sessions = async_sessionmaker[AsyncSession]
ADDRESSES = [f"reader{i}@example.com" for i in range(5)]


def hours(n: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=n)).isoformat()


async def new_component(client: Client, admin: dict[str, str], name: str) -> str:
    response = await client.post("/api/v1/components", json={"name": name}, headers=admin)
    assert response.status == 201
    ident: str = (await response.json())["id"]
    return ident


async def schedule(client: Client, admin: dict[str, str], **fields: Any) -> str:
    body = {"title": "Database upgrade", "body": "Checkout may be slow.", **fields}
    response = await client.post("/api/v1/maintenance", json=body, headers=admin)
    assert response.status == 201, await response.text()
    ident: str = (await response.json())["id"]
    return ident


async def maintenance(client: Client, admin: dict[str, str], ident: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/maintenance/{ident}", headers=admin)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def component_statuses(client: Client, admin: dict[str, str]) -> dict[str, str]:
    listed = await (await client.get("/api/v1/components", headers=admin)).json()
    return {c["id"]: c["status"] for c in listed["data"]}


async def tick(settings: Settings, redis_url: str) -> Any:
    """Enqueue maintenance_tick, run a real burst worker until the queue is empty.

    Returns the job's result, (started, completed); raises if the job failed.
    Other jobs the API enqueued meanwhile run too: this is the real queue.
    """
    pool = await arq.create_pool(redis_settings(redis_url))
    worker = create_worker(
        settings, redis_url, burst=True, poll_delay=0.05, cron_jobs=[], handle_signals=False
    )
    try:
        job = await pool.enqueue_job("maintenance_tick")
        assert job is not None
        await worker.async_run()
        assert await job.status() is JobStatus.complete
        return await job.result(poll_delay=0.05)
    finally:
        with warnings.catch_warnings():
            # arq 0.28 closes its pool with redis-py's deprecated close(); not our code.
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()
        await pool.aclose()


async def test_the_tick_starts_maintenance_whose_window_opened_then_completes_it(
    client: Client, admin: dict[str, str], settings: Settings, redis_url: str, sessions: Sessions
) -> None:
    db = await new_component(client, admin, "Database")
    web = await new_component(client, admin, "Website")
    manual = await new_component(client, admin, "Search")
    opened = await schedule(
        client, admin, scheduled_for=hours(-1), scheduled_until=hours(1), components=[db]
    )
    later = await schedule(
        client, admin, scheduled_for=hours(1), scheduled_until=hours(2), components=[web]
    )
    by_hand = await schedule(
        client,
        admin,
        scheduled_for=hours(-1),
        scheduled_until=hours(1),
        components=[manual],
        auto_transition=False,
    )

    assert await tick(settings, redis_url) == (1, 0)

    started = await maintenance(client, admin, opened)
    assert started["status"] == "in_progress"
    assert (started["updates"][0]["body"], started["updates"][0]["posted_by"]) == (
        "Scheduled maintenance is now in progress.",
        "forewarn",
    )
    assert (await maintenance(client, admin, later))["status"] == "scheduled"
    assert (await maintenance(client, admin, by_hand))["status"] == "scheduled"
    assert await component_statuses(client, admin) == {
        db: "under_maintenance",
        web: "operational",
        manual: "operational",
    }
    assert "Service Under Maintenance" in await (await client.get("/")).text()

    # Nothing more to do until the window closes: a second tick changes nothing.
    assert await tick(settings, redis_url) == (0, 0)
    assert len((await maintenance(client, admin, opened))["updates"]) == 2

    closed = await client.patch(
        f"/api/v1/maintenance/{opened}",
        json={"scheduled_until": hours(-0.01)},
        headers=admin,
    )
    assert closed.status == 200

    assert await tick(settings, redis_url) == (0, 1)

    completed = await maintenance(client, admin, opened)
    assert completed["status"] == "completed"
    assert completed["resolved_at"] is not None
    assert [(u["status"], u["posted_by"]) for u in completed["updates"]][:2] == [
        ("completed", "forewarn"),
        ("in_progress", "forewarn"),
    ]
    assert completed["updates"][0]["body"] == "Scheduled maintenance has been completed."
    assert await component_statuses(client, admin) == {
        db: "operational",
        web: "operational",
        manual: "operational",
    }
    async with sessions() as session:
        history = (
            await session.scalars(
                select(ComponentStatusChange.status)
                .where(ComponentStatusChange.component_id == db)
                .order_by(ComponentStatusChange.id)
            )
        ).all()
    assert list(history) == ["operational", "under_maintenance", "operational"]


async def test_the_tick_completes_maintenance_whose_whole_window_has_passed(
    client: Client, admin: dict[str, str], settings: Settings, redis_url: str, sessions: Sessions
) -> None:
    db = await new_component(client, admin, "Database")
    missed = await schedule(
        client, admin, scheduled_for=hours(-3), scheduled_until=hours(-2), components=[db]
    )

    assert await tick(settings, redis_url) == (1, 1)

    done = await maintenance(client, admin, missed)
    assert done["status"] == "completed"
    assert [u["status"] for u in done["updates"]] == ["completed", "in_progress", "scheduled"]
    assert await component_statuses(client, admin) == {db: "operational"}
    # No longer among the maintenance (the uptime bar below still lists it for today).
    assert "Database upgrade" not in (await (await client.get("/")).text()).split("Components")[0]


async def test_the_tick_completes_maintenance_being_verified(
    client: Client, admin: dict[str, str], settings: Settings, redis_url: str
) -> None:
    db = await new_component(client, admin, "Database")
    ident = await schedule(
        client, admin, scheduled_for=hours(-1), scheduled_until=hours(1), components=[db]
    )
    moved = await client.patch(
        f"/api/v1/maintenance/{ident}", json={"status": "verifying"}, headers=admin
    )
    assert moved.status == 200
    assert await tick(settings, redis_url) == (0, 0)
    assert await component_statuses(client, admin) == {db: "under_maintenance"}

    await client.patch(
        f"/api/v1/maintenance/{ident}", json={"scheduled_until": hours(-0.01)}, headers=admin
    )

    assert await tick(settings, redis_url) == (0, 1)
    assert (await maintenance(client, admin, ident))["status"] == "completed"
    assert await component_statuses(client, admin) == {db: "operational"}


async def test_the_tick_leaves_cancelled_maintenance_alone(
    client: Client, admin: dict[str, str], settings: Settings, redis_url: str
) -> None:
    db = await new_component(client, admin, "Database")
    ident = await schedule(
        client, admin, scheduled_for=hours(-1), scheduled_until=hours(1), components=[db]
    )
    cancelled = await client.post(f"/api/v1/maintenance/{ident}/cancel", json={}, headers=admin)
    assert cancelled.status == 200

    assert await tick(settings, redis_url) == (0, 0)
    assert (await maintenance(client, admin, ident))["status"] == "cancelled"
    assert await component_statuses(client, admin) == {db: "operational"}


def test_the_worker_runs_maintenance_tick_every_30_seconds_and_at_startup() -> None:
    [tick_job] = [c for c in CRON_JOBS if c.name == "cron:maintenance_tick"]

    assert tick_job.second == {0, 30}
    assert tick_job.minute is None
    assert tick_job.run_at_startup is True
    assert tick_job.unique is True


async def test_a_worker_from_settings_has_the_jobs_and_the_cron(
    settings: Settings, redis_url: str
) -> None:
    worker = create_worker(settings, redis_url, handle_signals=False)

    assert {"maintenance_tick", "prune_idempotency"} <= set(worker.functions)
    assert "cron:maintenance_tick" in {c.name for c in worker.cron_jobs}


# The fan-out job run again after its worker was lost: nothing its lost run created is
# left behind. A real burst worker, the dev outbox, real database and Redis.


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
        FAN_OUT, notification_id, _job_id=fan_out_id(notification_id), _job_try=2
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
