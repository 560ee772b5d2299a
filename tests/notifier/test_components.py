"""Components and their groups: every status change is written to the history the uptime
bars read, an unchanged status writes nothing, and a deleted group leaves its members."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components
from notifier.db import utcnow
from notifier.errors import UnknownReference
from notifier.schemas.components import ComponentCreate, ComponentPatch, GroupCreate, GroupPatch
from notifier.statuses import ComponentStatus
from notifier.tables import Component, ComponentStatusChange

Sessions = async_sessionmaker[AsyncSession]


async def history(session: AsyncSession, component_id: str) -> list[str]:
    found = await session.scalars(
        select(ComponentStatusChange.status)
        .where(ComponentStatusChange.component_id == component_id)
        .order_by(ComponentStatusChange.id)
    )
    return list(found)


async def test_each_status_change_is_in_the_history_and_a_repeat_is_not(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        api = await components.create_component(
            session,
            ComponentCreate(name="API", status=ComponentStatus.degraded_performance),
            now=utcnow(),
        )
        down = ComponentPatch(status=ComponentStatus.major_outage)
        await components.patch_component(session, api.id, down, now=utcnow())
        await components.patch_component(session, api.id, down, now=utcnow())
        await components.patch_component(
            session, api.id, ComponentPatch(name="Public API"), now=utcnow()
        )
        assert await history(session, api.id) == ["degraded_performance", "major_outage"]
        assert (api.name, api.status) == ("Public API", "major_outage")


async def test_a_group_takes_its_members_and_leaves_them_when_deleted(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        ids = [
            (await components.create_component(session, ComponentCreate(name=n), now=utcnow())).id
            for n in ("Checkout", "Refunds", "API")
        ]
        group = await components.create_group(
            session, GroupCreate(name="Payments", components=ids[:2]), now=utcnow()
        )
        assert sorted(c.name for c in group.components) == ["Checkout", "Refunds"]
        await components.patch_group(
            session, group.id, GroupPatch(components=ids[1:]), now=utcnow()
        )
        assert sorted(c.name for c in group.components) == ["API", "Refunds"]
        await components.delete_group(session, group.id)
    async with sessions() as session:
        left = await session.execute(
            select(Component.name, Component.group_id).order_by(Component.name)
        )
        assert list(left) == [("API", None), ("Checkout", None), ("Refunds", None)]


async def test_an_unknown_component_or_group_names_its_field(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(UnknownReference) as no_group:
            await components.create_component(
                session, ComponentCreate(name="API", group_id="nope"), now=utcnow()
            )
        with pytest.raises(UnknownReference) as no_member:
            await components.create_group(
                session, GroupCreate(name="Payments", components=["nope"]), now=utcnow()
            )
    assert (no_group.value.field, no_member.value.field) == ("group_id", "components[0]")
