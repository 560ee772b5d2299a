"""Cursor pagination: a cursor names the last row's position, every row is seen once
newest first, and a cursor this API never handed out is the ``cursor`` field's error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.errors import InvalidField
from notifier.pagination import decode_cursor, encode_cursor, paginate
from notifier.tables import Component, ComponentStatusChange

Sessions = async_sessionmaker[AsyncSession]


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    at = datetime(2026, 11, 30, 18, 41, 28, 123456, tzinfo=UTC)
    cursor = encode_cursor(at, "k3x9")
    assert cursor == "1796064088123456.k3x9"
    assert decode_cursor(cursor) == (at, "k3x9")


@pytest.mark.parametrize(
    "cursor", ["", "abc", "12.", ".x", "12.ABC", "1.a.b", "12345678901234567.a"]
)
def test_a_cursor_of_another_shape_is_the_cursor_fields_error(cursor: str) -> None:
    with pytest.raises(InvalidField) as refused:
        decode_cursor(cursor)
    assert refused.value.field == "cursor"


async def test_pages_give_every_row_once_newest_first(sessions: Sessions) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    async with sessions() as session, session.begin():
        # Two rows share a time: the id breaks the tie.
        times = [
            start,
            start + timedelta(seconds=1),
            start + timedelta(seconds=1),
            start + timedelta(seconds=2),
            start + timedelta(seconds=3),
        ]
        session.add_all(
            Component(name=f"c{i}", created_at=t, updated_at=t) for i, t in enumerate(times)
        )

    seen: list[str] = []
    cursor: str | None = None
    async with sessions() as session:
        for _ in range(5):
            page, cursor = await paginate(
                session,
                select(Component),
                Component.created_at,
                Component.id,
                limit=2,
                cursor=cursor,
            )
            seen += [c.name for c in page]
            if cursor is None:
                break
    assert sorted(seen) == [f"c{i}" for i in range(5)]
    assert (seen[0], seen[-1]) == ("c4", "c0")


async def test_a_text_id_in_a_cursor_over_numeric_ids_is_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(InvalidField) as refused:
            await paginate(
                session,
                select(ComponentStatusChange),
                ComponentStatusChange.at,
                ComponentStatusChange.id,
                limit=2,
                cursor="1796064088123456.abc",
            )
    assert refused.value.field == "cursor"
