"""The page's history: public incidents and maintenance, a calendar month at a time.

Months are those of the page's time zone; an incident belongs to the month it
started in (a maintenance: its start, or its scheduled start until it begins).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from notifier.page.uptime import midnight
from notifier.statuses import MaintenanceStatus
from notifier.tables import Incident

_MONTH = re.compile(r"(\d{4})-(\d{2})")
# The days of recent past on the home page, today included (as Statuspage shows).
RECENT_DAYS = 7


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month (``year``, ``month`` 1..12), printed and parsed as ``2026-11``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month | None:
        """``2026-11``; None for anything else (including years past 9998)."""
        match = _MONTH.fullmatch(text)
        if match is None:
            return None
        year, month = int(match[1]), int(match[2])
        return cls(year, month) if 1 <= month <= 12 and 1970 <= year <= 9998 else None

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> Month:
        """The month ``moment`` (an aware datetime) falls in, in ``zone``."""
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    @property
    def first_day(self) -> date:
        """The month's first date."""
        return date(self.year, self.month, 1)

    @property
    def previous(self) -> Month:
        """The month before (December of the year before for January)."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def next(self) -> Month:
        """The month after (January of the year after for December)."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class MonthHistory:
    """One month of the history page: its public entries and whether any are older."""

    month: Month
    entries: Sequence[Incident]  # newest first; their updates are not loaded
    has_earlier: bool  # something public started before this month


_SHOWN: tuple[ColumnElement[bool], ...] = (
    Incident.public.is_(True),
    Incident.status != MaintenanceStatus.cancelled,
)


async def month_history(session: AsyncSession, month: Month, zone: ZoneInfo) -> MonthHistory:
    """Public incidents and maintenance (not cancelled) that started in ``month`` in ``zone``.

    Entries are newest first, with their updates unloaded (reading one raises);
    ``has_earlier`` says whether the page links to the month before.
    """
    start, end = midnight(month.first_day, zone), midnight(month.next.first_day, zone)
    entries = await session.scalars(
        select(Incident)
        .where(*_SHOWN, Incident.started_at >= start, Incident.started_at < end)
        .order_by(Incident.started_at.desc(), Incident.id)
        .options(raiseload(Incident.updates))
    )
    earlier = await session.scalar(
        select(Incident.id).where(*_SHOWN, Incident.started_at < start).limit(1)
    )
    return MonthHistory(month=month, entries=entries.all(), has_earlier=earlier is not None)


@dataclass(frozen=True)
class RecentDay:
    """One day of the home page's recent past: its start and what started on it."""

    start: datetime  # the day's midnight in the page's zone, as an aware UTC datetime
    entries: Sequence[Incident]  # newest first; their updates are not loaded


async def recent_days(
    session: AsyncSession, now: datetime, zone: ZoneInfo, days: int = RECENT_DAYS
) -> list[RecentDay]:
    """Today and the ``days - 1`` days before it in ``zone``, newest first, each with the
    public incidents and maintenance (not cancelled, begun by ``now``) that started on
    it: Statuspage's "Past Incidents", where a quiet day says so rather than vanishing.
    """
    today = now.astimezone(zone).date()
    starts = [midnight(today - timedelta(days=n), zone) for n in range(days)]
    entries = await session.scalars(
        select(Incident)
        .where(
            *_SHOWN,
            Incident.status != MaintenanceStatus.scheduled,
            Incident.started_at >= starts[-1],
            Incident.started_at <= now,
        )
        .order_by(Incident.started_at.desc(), Incident.id)
        .options(raiseload(Incident.updates))
    )
    found = entries.all()
    return [
        RecentDay(start, [e for e in found if start <= e.started_at < end])
        for start, end in zip(
            starts, [midnight(today + timedelta(days=1), zone), *starts[:-1]], strict=True
        )
    ]
