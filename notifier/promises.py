"""Promised next updates ("next update by 15:30"): made, kept, reminded of and broken.

An incident update in an active status promises the next one: at its ``next_update_by``
or, when it gives none, after the default cadence of the incident's impact
(``PromiseSettings``: critical 30 minutes, major 60, minor and none nothing). The next
update posted (or the resolution) keeps it when posted by ``due_at``; when ``due_at``
passes without one the worker records it broken (``broken_at`` = ``due_at``). Ops are
reminded once, a configurable lead before it is due (``notifier.delivery.on_call``).
The customer-care rule: follow up when you said you would (design.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import PromiseSettings
from notifier.tables import Incident, Promise


def default_due(impact: str, now: datetime, settings: PromiseSettings | None) -> datetime | None:
    """When an update of an ``impact`` incident that gives no time promises the next one;
    None without a cadence for it (or without ``settings``: a caller that sets none)."""
    minutes = settings.cadence(impact) if settings is not None else 0
    return now + timedelta(minutes=minutes) if minutes else None


def make(
    session: AsyncSession, incident_id: str, update_id: str, due_at: datetime, now: datetime
) -> None:
    """Record the promise of update ``update_id``: the next update by ``due_at``."""
    session.add(
        Promise(incident_id=incident_id, update_id=update_id, due_at=due_at, created_at=now)
    )


async def settle(session: AsyncSession, incident_id: str, *, now: datetime) -> None:
    """An update was posted: the incident's open promise is kept if it was not yet due,
    else broken (at its due time, if the worker had not recorded that yet).

    Conditional UPDATEs: a promise the worker records broken at the same moment stays so.
    """
    still_open = (
        Promise.incident_id == incident_id,
        Promise.kept_at.is_(None),
        Promise.broken_at.is_(None),
    )
    await session.execute(
        update(Promise).where(*still_open, Promise.due_at >= now).values(kept_at=now)
    )
    await session.execute(
        update(Promise).where(*still_open, Promise.due_at < now).values(broken_at=Promise.due_at)
    )


async def repromise(
    session: AsyncSession, incident: Incident, due_at: datetime | None, *, now: datetime
) -> None:
    """``next_update_by`` changed without an update (PATCH): the open promise moves to
    ``due_at`` (with a reminder of its own), or is withdrawn with None; with none open, a
    new one is made on the incident's latest update."""
    still_open = (
        Promise.incident_id == incident.id,
        Promise.kept_at.is_(None),
        Promise.broken_at.is_(None),
    )
    if due_at is None:
        await session.execute(delete(Promise).where(*still_open))
        return
    moved = await session.execute(
        update(Promise).where(*still_open).values(due_at=due_at, reminded_at=None)
    )
    if moved.rowcount == 0 and incident.updates:  # type: ignore[attr-defined]
        make(session, incident.id, incident.updates[0].id, due_at, now)


@dataclass(frozen=True)
class Due:
    """A promise claimed for an ops alert, with what the alert says."""

    promise_id: int
    incident_id: str
    title: str
    status: str
    impact: str
    due_at: datetime
    broken: int  # the incident's broken promises, this one included when broken


async def claim_reminders(session: AsyncSession, *, now: datetime, lead: timedelta) -> list[Due]:
    """Claim the open promises due within ``lead`` (and not yet due) whose ops have not been
    reminded: ``reminded_at`` set by a conditional UPDATE, so two workers, or the cron run
    twice, claim each once. Commit before alerting."""
    claimed = await session.scalars(
        update(Promise)
        .where(
            Promise.reminded_at.is_(None),
            Promise.kept_at.is_(None),
            Promise.broken_at.is_(None),
            Promise.due_at > now,
            Promise.due_at <= now + lead,
        )
        .values(reminded_at=now)
        .returning(Promise.id)
    )
    return await _describe(session, list(claimed))


async def claim_broken(session: AsyncSession, *, now: datetime) -> list[Due]:
    """Record broken every open promise whose due time has passed (``broken_at`` =
    ``due_at``); each is claimed once, as ``claim_reminders``."""
    claimed = await session.scalars(
        update(Promise)
        .where(Promise.kept_at.is_(None), Promise.broken_at.is_(None), Promise.due_at <= now)
        .values(broken_at=Promise.due_at)
        .returning(Promise.id)
    )
    return await _describe(session, list(claimed))


async def overdue(session: AsyncSession, *, now: datetime) -> Sequence[Promise]:
    """Open promises whose due time has passed, oldest first, locked (skip locked)."""
    stmt = (
        select(Promise)
        .where(Promise.kept_at.is_(None), Promise.broken_at.is_(None), Promise.due_at <= now)
        .order_by(Promise.due_at)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(stmt)).all()


async def _describe(session: AsyncSession, ids: list[int]) -> list[Due]:
    if not ids:
        return []
    broken = (
        select(func.count())
        .where(Promise.incident_id == Incident.id, Promise.broken_at.is_not(None))
        .correlate(Incident)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Promise.id,
            Promise.due_at,
            Incident.id.label("incident_id"),
            Incident.title,
            Incident.status,
            Incident.impact,
            broken.label("broken"),
        )
        .join(Incident, Incident.id == Promise.incident_id)
        .where(Promise.id.in_(ids))
        .order_by(Promise.due_at, Promise.id)
    )
    return [
        Due(
            promise_id=r.id,
            incident_id=r.incident_id,
            title=r.title,
            status=r.status,
            impact=r.impact,
            due_at=r.due_at,
            broken=r.broken,
        )
        for r in rows
    ]
