"""Uptime by day: the 90-day bars of the public page, from the component status history.

A day's colour is the worst status the component was in at any moment of that day
(days run midnight to midnight in the page's time zone). Its uptime is the share of
the day that was not down, where a status counts as down by its weight in
``DOWNTIME``: a major outage fully, a partial outage 30% (as Atlassian Statuspage
counts it); degraded performance and maintenance count as up. Only time with a known
status counts: a day before the component existed has no data, and the day it was
created counts from its creation; today counts up to now.

``daily`` is the pure computation; ``load`` reads what it needs for many components
in two queries, whatever their number.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.statuses import ComponentStatus, IncidentKind, MaintenanceStatus
from notifier.tables import Component, ComponentStatusChange, Incident, IncidentComponent

WINDOW_DAYS = 90
# The days a narrow screen shows, the most recent (Statuspage shows 30 on phones).
NARROW_DAYS = 30
# The share of each second in a status that counts as downtime; others count as up.
DOWNTIME = {ComponentStatus.major_outage: 1.0, ComponentStatus.partial_outage: 0.3}


class Change(NamedTuple):
    """A status a component entered, and when."""

    at: datetime
    status: ComponentStatus


class IncidentRef(NamedTuple):
    """An incident or maintenance as a day's bar links to it."""

    id: str
    title: str
    kind: IncidentKind
    translations: dict[str, dict[str, str]] | None = None  # the title's (notifier.translations)


@dataclass
class Day:
    """One day of a component's bar: the worst status seen and seconds covered and down."""

    date: date
    worst: ComponentStatus | None  # None: no data (the component did not exist yet)
    covered: float = 0.0  # seconds with a known status
    down: float = 0.0  # seconds of downtime, weighted
    incidents: list[IncidentRef] = field(default_factory=list)

    @property
    def uptime(self) -> float | None:
        """The day's uptime as a fraction 0..1; None when no second of it has a known status."""
        return 1 - self.down / self.covered if self.covered else None

    @property
    def percent(self) -> str | None:
        """The day's uptime as the page prints it (see ``percent``), or None."""
        return None if self.uptime is None else percent(self.uptime)


@dataclass(frozen=True)
class History:
    """One component's days, oldest first."""

    days: list[Day]

    @property
    def uptime(self) -> float | None:
        """Over the whole window, weighted by time (not an average of the days)."""
        covered = sum(d.covered for d in self.days)
        return 1 - sum(d.down for d in self.days) / covered if covered else None

    @property
    def percent(self) -> str | None:
        """The window's uptime as the page prints it (see ``percent``), or None."""
        return None if self.uptime is None else percent(self.uptime)

    @property
    def since(self) -> date | None:
        """The first day with data when the component is younger than the days shown
        (its uptime counts from its creation, and the page says so); None otherwise."""
        first = next((d for d in self.days if d.covered), None)
        return first.date if first is not None and first is not self.days[0] else None

    def last(self, days: int) -> History:
        """The last ``days`` days only (a phone's shorter bar), oldest first."""
        return History(self.days[-days:])


def percent(fraction: float) -> str:
    """``91.67``: two decimals, but never ``100`` with any downtime or ``0`` without."""
    value = round(fraction * 100, 2)
    if fraction < 1:
        value = min(value, 99.99)
    if fraction > 0:
        value = max(value, 0.01)
    return "100" if value == 100 else f"{value:.2f}"


@dataclass(frozen=True)
class Window:
    """The days shown, ending today in ``zone``; ``bounds`` are their midnights in UTC."""

    dates: list[date]
    bounds: list[datetime]  # one more than dates: the last is the end of today
    now: datetime

    @classmethod
    def ending(cls, now: datetime, zone: ZoneInfo, days: int = WINDOW_DAYS) -> Window:
        """The ``days`` days up to and including today in ``zone``, as of ``now`` (aware)."""
        today = now.astimezone(zone).date()
        dates = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
        bounds = [midnight(d, zone) for d in [*dates, today + timedelta(days=1)]]
        return cls(dates=dates, bounds=bounds, now=now)

    @property
    def start(self) -> datetime:
        """Midnight (UTC) starting the first day shown."""
        return self.bounds[0]

    def touched(self, start: datetime, end: datetime) -> range:
        """Indexes of the days that [start, end) reaches into (an instant: its own day)."""
        if end < start:
            return range(0)
        first = bisect_right(self.bounds, start) - 1
        # Ending exactly at midnight does not reach into the day that begins then.
        last = bisect_left(self.bounds, end) - 1 if end > start else first
        return range(max(first, 0), min(last, len(self.dates) - 1) + 1)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def daily(changes: Sequence[Change], window: Window) -> list[Day]:
    """The window's days for one component, from its changes in time order.

    The history starts at the first change (a component's creation records its first
    status); each status lasts until the next change, the last one until now.
    """
    days = [Day(date=d, worst=None) for d in window.dates]
    for index, change in enumerate(changes):
        start = change.at
        end = changes[index + 1].at if index + 1 < len(changes) else window.now
        end = min(end, window.now)
        if end <= start and index + 1 < len(changes):
            continue  # replaced at the same instant: never shown
        weight = DOWNTIME.get(change.status, 0.0)
        for k in window.touched(start, end):
            seconds = min(end, window.bounds[k + 1]) - max(start, window.bounds[k])
            day = days[k]
            if day.worst is None or change.status.severity > day.worst.severity:
                day.worst = change.status
            day.covered += seconds.total_seconds()
            day.down += weight * seconds.total_seconds()
    return days


class Span(NamedTuple):
    """An incident or maintenance on the page, the time it ran and what it touched."""

    ref: IncidentRef
    start: datetime
    end: datetime | None  # None: still open
    component_id: str


def attach(days: list[Day], spans: Iterable[Span], window: Window) -> None:
    """Add each incident to the days it was open (``spans`` of this component only)."""
    for span in spans:
        for k in window.touched(span.start, span.end or window.now):
            if span.ref not in days[k].incidents:
                days[k].incidents.append(span.ref)


async def load(
    session: AsyncSession, components: Sequence[Component], window: Window
) -> dict[str, History]:
    """Each component's history over the window, by component id."""
    if not components:
        return {}
    ids = [c.id for c in components]
    changes = await _changes(session, ids, window)
    spans: dict[str, list[Span]] = {i: [] for i in ids}
    for span in await _spans(session, ids, window):
        spans[span.component_id].append(span)
    out = {}
    for component in components:
        known = changes[component.id] or [
            # No recorded change at all: its current status since it was created.
            Change(component.created_at, ComponentStatus(component.status))
        ]
        days = daily(known, window)
        attach(days, spans[component.id], window)
        out[component.id] = History(days)
    return out


async def _changes(
    session: AsyncSession, ids: list[str], window: Window
) -> dict[str, list[Change]]:
    """The changes inside the window, and the last one before it (the status it began in)."""
    change = ComponentStatusChange
    before = (
        select(
            change.id,
            func.row_number()
            .over(partition_by=change.component_id, order_by=(change.at.desc(), change.id.desc()))
            .label("newest"),
        )
        .where(change.component_id.in_(ids), change.at < window.start)
        .subquery()
    )
    rows = await session.execute(
        select(change.component_id, change.status, change.at)
        .where(
            change.component_id.in_(ids),
            or_(
                (change.at >= window.start) & (change.at <= window.now),
                change.id.in_(select(before.c.id).where(before.c.newest == 1)),
            ),
        )
        .order_by(change.component_id, change.at, change.id)
    )
    changes: dict[str, list[Change]] = {i: [] for i in ids}
    for component_id, status, at in rows:
        changes[component_id].append(Change(at, ComponentStatus(status)))
    return changes


async def _spans(session: AsyncSession, ids: list[str], window: Window) -> list[Span]:
    """Public incidents and maintenance that ran during the window, per affected component."""
    rows = await session.execute(
        select(
            Incident.id,
            Incident.title,
            Incident.kind,
            Incident.translations,
            Incident.started_at,
            Incident.resolved_at,
            IncidentComponent.component_id,
        )
        .join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(
            IncidentComponent.component_id.in_(ids),
            Incident.public.is_(True),
            # Maintenance counts once it has started; a cancelled one never ran.
            Incident.status.not_in([MaintenanceStatus.scheduled, MaintenanceStatus.cancelled]),
            Incident.started_at <= window.now,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at >= window.start),
        )
        .order_by(Incident.started_at, Incident.id)
    )
    return [
        Span(IncidentRef(id_, title, IncidentKind(kind), said), started, resolved, component_id)
        for id_, title, kind, said, started, resolved, component_id in rows
    ]
