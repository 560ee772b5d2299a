"""The history page: a calendar month of the page's time zone at a time, public and not
cancelled, newest first; it links back only when something older exists."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.page.history import Month, month_history
from notifier.tables import Incident

Sessions = async_sessionmaker[AsyncSession]
TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_month_is_read_and_written_as_year_dash_month() -> None:
    assert Month.parse("2026-11") == Month(2026, 11)
    assert str(Month(2026, 1)) == "2026-01"
    for text in ("2026-13", "2026-00", "1969-12", "9999-01", "2026-1", "2026-11-01", "nov"):
        assert Month.parse(text) is None, text
    assert (Month(2026, 1).previous, Month(2026, 12).next) == (Month(2025, 12), Month(2027, 1))
    assert Month.containing(datetime(2026, 10, 31, 16, tzinfo=UTC), TOKYO) == Month(2026, 11)


async def test_a_month_holds_what_started_in_it_in_the_pages_time_zone(
    sessions: Sessions,
) -> None:
    def at(day: int, hour: int, month: int = 11) -> datetime:
        return datetime(2026, month, day, hour, tzinfo=UTC)

    async with sessions() as session, session.begin():
        session.add_all(
            [
                # 1 November 01:00 in Tokyo, though still October in UTC.
                Incident(title="first", status="resolved", started_at=at(31, 16, month=10)),
                Incident(title="mid", status="resolved", started_at=at(15, 9)),
                Incident(title="private", status="resolved", public=False, started_at=at(16, 9)),
                Incident(
                    kind="maintenance", title="called off", status="cancelled", started_at=at(17, 9)
                ),
                Incident(
                    kind="maintenance", title="upgrade", status="completed", started_at=at(20, 9)
                ),
                # 1 December 00:30 in Tokyo: the next month.
                Incident(title="december", status="resolved", started_at=at(30, 15, month=11)),
            ]
        )
    async with sessions() as session:
        november = await month_history(session, Month(2026, 11), TOKYO)
        october = await month_history(session, Month(2026, 10), TOKYO)
        december = await month_history(session, Month(2026, 12), TOKYO)
    assert [i.title for i in november.entries] == ["upgrade", "mid", "first"]
    assert november.has_earlier is False
    assert (october.entries, october.has_earlier) == ([], False)
    assert ([i.title for i in december.entries], december.has_earlier) == (["december"], True)
