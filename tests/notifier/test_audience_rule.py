"""The audience rule reads and writes the JSON that notification rows already hold."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.audience_rule import AudienceRule
from notifier.db import utcnow
from notifier.tables import Notification

Sessions = async_sessionmaker[AsyncSession]


def test_it_round_trips_both_stored_shapes() -> None:
    shapes: list[dict[str, Any]] = [
        {"components": ["api", "web"]},
        {"components": []},
        {"problem": "p1"},
    ]
    for stored in shapes:
        assert AudienceRule.from_json(stored).to_json() == stored


def test_the_constructors_say_who_hears() -> None:
    assert AudienceRule.page(["web", "api"]) == AudienceRule(components=("api", "web"))
    assert AudienceRule.of_problem("p1").to_json() == {"problem": "p1"}
    assert AudienceRule.from_json({}) == AudienceRule()  # the whole page's subscribers


def test_a_shape_that_is_neither_is_refused() -> None:
    with pytest.raises(ValueError, match="list"):
        AudienceRule.from_json({"components": "api"})


async def test_a_row_written_as_json_loads_as_a_rule_and_is_stored_as_before(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            Notification(
                id="n1",
                kind="problem_update",
                event="problem_updated",
                subject_id="p1",
                update_id="u1",
                audience=AudienceRule.of_problem("p1"),
                created_at=utcnow(),
            )
        )
    async with sessions() as session:
        stored = await session.scalar(text("SELECT audience FROM notifications"))
        loaded = await session.scalar(select(Notification.audience))
    # JSON text on SQLite, decoded by asyncpg's json codec on PostgreSQL.
    assert stored in ('{"problem": "p1"}', {"problem": "p1"})
    assert loaded == AudienceRule(problem="p1")
