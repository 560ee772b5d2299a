"""Quiet hours: the local times between which a recipient gets only urgent messages.

A window is two wall-clock times in the recipient's IANA zone; it may cross midnight
(22:00-07:00). Start equal to end is no window at all: a customer sets that to opt out
of the page's default. Arithmetic is done on wall-clock times, so a window keeps its
local hours across a DST change. An end that does not exist that day (a spring-forward
gap) or exists twice (fall back) is read as ``zoneinfo`` reads it (``fold=0``, the
offset before the change): 02:30 in a gap from 02:00 to 03:00 ends at 03:30, an
ambiguous 01:30 at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def window(
    own: tuple[time | None, time | None], page: tuple[time | None, time | None]
) -> tuple[time, time] | None:
    """The recipient's window: their own (start, end) when they set both, else the
    page's default when it has one, else None."""
    start, end = own if own[0] is not None and own[1] is not None else page
    if start is None or end is None:
        return None
    return start, end


def ends_at(now: datetime, quiet: tuple[time, time] | None, zone: str) -> datetime | None:
    """When the quiet window that ``now`` (aware) falls in ends, as an aware UTC
    datetime after ``now``; None when ``now`` is outside it (the start is in it, the
    end is not) or there is no window. ``zone``: an IANA name; an unknown one counts
    as UTC (the manage page and the ops API refuse those; old rows may hold one)."""
    if quiet is None or quiet[0] == quiet[1]:
        return None
    start, end = quiet
    tz = _zone(zone)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    day = local.date()
    if start < end:  # within one day: 01:00-06:00
        if not start <= clock < end:
            return None
    elif clock >= start:  # crossing midnight, before it: ends tomorrow
        day += timedelta(days=1)
    elif clock >= end:  # crossing midnight, between end and start: awake
        return None
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
