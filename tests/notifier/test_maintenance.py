"""Scheduled maintenance moves on by itself: in progress when its window opens (its
components under maintenance), completed when it closes (operational again)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components, maintenance
from notifier.db import utcnow
from notifier.schemas.components import ComponentCreate
from notifier.schemas.maintenance import MaintenanceCreate
from notifier.tables import Component, Incident, Notification

Sessions = async_sessionmaker[AsyncSession]
HOUR = timedelta(hours=1)


async def schedule(
    session: AsyncSession, start: datetime, *, auto: bool = True
) -> tuple[Incident, Component]:
    db = await components.create_component(session, ComponentCreate(name="Database"), now=utcnow())
    body = MaintenanceCreate(
        title="Database upgrade",
        body="We upgrade the database.",
        scheduled_for=start,
        scheduled_until=start + HOUR,
        components=[db.id],
        auto_transition=auto,
    )
    work = await maintenance.create_maintenance(session, body, posted_by="ops", now=utcnow())
    return work, db


async def test_it_starts_when_its_window_opens_and_completes_when_it_closes(
    sessions: Sessions,
) -> None:
    start = utcnow() + HOUR
    async with sessions() as session, session.begin():
        work, db = await schedule(session, start)
        assert await maintenance.auto_transition(session, now=start - timedelta(seconds=1)) == (
            0,
            0,
        )
        assert (work.status, db.status) == ("scheduled", "operational")

        assert await maintenance.auto_transition(session, now=start) == (1, 0)
        assert (work.status, db.status) == ("in_progress", "under_maintenance")
        assert work.updates[0].body == "Scheduled maintenance is now in progress."

        assert await maintenance.auto_transition(session, now=start + HOUR) == (0, 1)
        assert (work.status, db.status) == ("completed", "operational")
        assert work.updates[0].body == "Scheduled maintenance has been completed."
        kinds = (await session.scalars(select(Notification.kind))).all()
        assert kinds == ["maintenance_update"] * 3  # scheduled, started, completed


async def test_a_window_already_over_starts_and_completes_in_one_run(sessions: Sessions) -> None:
    start = utcnow() + HOUR
    async with sessions() as session, session.begin():
        work, db = await schedule(session, start)
        assert await maintenance.auto_transition(session, now=start + 2 * HOUR) == (1, 1)
        assert [u.status for u in work.updates] == ["completed", "in_progress", "scheduled"]
        assert db.status == "operational"


async def test_one_without_auto_transition_waits_for_the_operator(sessions: Sessions) -> None:
    start = utcnow() + HOUR
    async with sessions() as session, session.begin():
        work, db = await schedule(session, start, auto=False)
        assert await maintenance.auto_transition(session, now=start + 2 * HOUR) == (0, 0)
        assert (work.status, db.status) == ("scheduled", "operational")
