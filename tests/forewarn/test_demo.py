"""The demo data of ``forewarn run --demo`` (``forewarn/demo.py``): a page with some life
in it, put into an empty database only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from forewarn import demo
from notifier.db import utcnow
from notifier.tables import Component, ComponentGroup
from tests.conftest import Client
from tests.status_page.api.records import rows_by_table

Sessions = async_sessionmaker[AsyncSession]


async def test_the_demo_fills_an_empty_database_and_the_page_shows_it(
    client: Client, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        assert await demo.seed(session, now=utcnow())

    page = await (await client.get("/")).text()

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Component)) == 7
        assert await session.scalar(select(func.count()).select_from(ComponentGroup)) == 3
    for shown in ("Storefront", "Payments failing for some card types", "Database upgrade"):
        assert shown in page
    # In Japanese, the demo's records speak it too.
    japanese = await (await client.get("/?lang=ja")).text()
    for shown in (
        "ストア",
        "決済API",
        "一部のカードでお支払いができない状態",
        "データベースの更新",
    ):
        assert shown in japanese
    assert "Storefront" not in japanese


async def test_a_database_with_components_is_left_as_it_is(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await demo.seed(session, now=utcnow())
    before = await rows_by_table(sessions)

    async with sessions() as session, session.begin():
        assert not await demo.seed(session, now=utcnow())

    assert await rows_by_table(sessions) == before
