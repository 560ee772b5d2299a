"""The maintenance reminder (``maintenance.remind``, run by the worker's
``maintenance_reminders`` cron) with a controlled clock: one new notification 60 minutes
before the window, to the audience of its updates; none for a maintenance scheduled
inside that hour, cancelled, or already started."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.events import Event
from notifier.tables import Customer, Delivery, Notification
from tests.conftest import Client
from tests.workers.ticks import job_context
from workers import jobs

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
STARTS = T0 + timedelta(hours=3)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


async def schedule(client: Client, admin: dict[str, str], starts: datetime) -> dict[str, Any]:
    body = {
        "title": "Database upgrade",
        "body": "Checkout may be slow.",
        "scheduled_for": starts.isoformat(),
        "scheduled_until": (starts + timedelta(hours=2)).isoformat(),
    }
    response = await client.post("/api/v1/maintenance", json=body, headers=admin)
    assert response.status == 201, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def reminders(sessions: Sessions) -> list[Notification]:
    async with sessions() as session:
        stmt = select(Notification).where(Notification.event == Event.maintenance_reminder)
        return list(await session.scalars(stmt))


async def deliveries(sessions: Sessions, notification_id: str) -> set[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.external_id, Delivery.channel, Delivery.status)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Delivery.notification_id == notification_id)
        )
        return {(r.external_id, r.channel, r.status) for r in rows}


async def run(settings: Settings, sessions: Sessions) -> int:
    async with job_context(settings, sessions) as ctx:
        return await jobs.maintenance_reminders(ctx)


async def test_the_reminder_is_one_new_notification_sixty_minutes_before(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
) -> None:
    for i, channels in enumerate((["email"], ["sms"])):
        response = await client.put(
            f"/api/v1/customers/reader-{i}",
            json={
                "email": f"reader{i}@example.com",
                "phone": "+819012345670",
                "consent": {"channels": channels, "legal_basis": "contract"},
                "follows": {"page": True},
            },
            headers=admin,
        )
        assert response.status == 201, await response.text()
    maintenance = await schedule(client, admin, STARTS)

    clock.move_to(STARTS - timedelta(minutes=61))
    assert await run(settings, sessions) == 0
    assert await reminders(sessions) == []

    clock.move_to(STARTS - timedelta(minutes=60))
    assert await run(settings, sessions) == 1
    clock.move_to(STARTS - timedelta(minutes=59))
    assert await run(settings, sessions) == 0  # once

    [reminder] = await reminders(sessions)
    assert reminder.kind == "maintenance_reminder"
    assert reminder.subject_id == maintenance["id"]
    assert reminder.update_id == maintenance["updates"][0]["id"]
    assert reminder.created_at == STARTS - timedelta(minutes=60)
    # Its audience is its updates': the same deliveries as the "scheduled" message's.
    async with sessions() as session:
        scheduled = await session.scalar(
            select(Notification.id).where(Notification.event == Event.maintenance_scheduled)
        )
    assert scheduled is not None
    async with job_context(settings, sessions) as ctx:
        await jobs.fan_out(ctx, reminder.id)
        await jobs.fan_out(ctx, scheduled)
    assert await deliveries(sessions, reminder.id) == await deliveries(sessions, scheduled)
    assert ("reader-0", "email", "pending") in await deliveries(sessions, reminder.id)
    # Texts cost money: by default neither the notice nor its reminder goes by SMS
    # (``delivery.sms_events``), so the reader who asked for texts only has no row there.
    assert [d for d in await deliveries(sessions, reminder.id) if d[1] == "sms"] == []


async def test_no_reminder_inside_the_lead_when_cancelled_or_started(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
) -> None:
    soon = await schedule(client, admin, T0 + timedelta(minutes=30))  # inside the hour
    cancelled = await schedule(client, admin, STARTS)
    started = await schedule(client, admin, STARTS)
    response = await client.post(
        f"/api/v1/maintenance/{cancelled['id']}/cancel", json={"body": "Postponed."}, headers=admin
    )
    assert response.status == 200
    response = await client.patch(
        f"/api/v1/maintenance/{started['id']}",
        json={"status": "in_progress", "body": "Starting early."},
        headers=admin,
    )
    assert response.status == 200

    for minutes in (25, 60 * 3 - 60, 60 * 3 - 30):
        clock.move_to(T0 + timedelta(minutes=minutes))
        assert await run(settings, sessions) == 0
    assert await reminders(sessions) == []
    assert soon["status"] == "scheduled"


async def test_a_moved_window_is_reminded_again(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
) -> None:
    maintenance = await schedule(client, admin, STARTS)
    clock.move_to(STARTS - timedelta(minutes=60))
    assert await run(settings, sessions) == 1

    later = STARTS + timedelta(hours=4)
    response = await client.patch(
        f"/api/v1/maintenance/{maintenance['id']}",
        json={
            "scheduled_for": later.isoformat(),
            "scheduled_until": (later + timedelta(hours=1)).isoformat(),
        },
        headers=admin,
    )
    assert response.status == 200
    clock.move_to(later - timedelta(minutes=60))

    assert await run(settings, sessions) == 1
    assert len(await reminders(sessions)) == 2
