"""Incidents as an operator posts them: each update moves the incident's status and its
components', resolving restores the components and writes their history, and the
notification row is written in the same transaction as the update."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components, incidents
from notifier.db import utcnow
from notifier.errors import Conflict, InvalidField
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import (
    AffectedComponent,
    IncidentCreate,
    IncidentResolve,
    IncidentUpdateCreate,
)
from notifier.statuses import ComponentStatus, IncidentStatus
from notifier.tables import Component, ComponentStatusChange, Incident, Notification

Sessions = async_sessionmaker[AsyncSession]


async def component(session: AsyncSession, name: str = "API") -> Component:
    return await components.create_component(session, ComponentCreate(name=name), now=utcnow())


def opening(*affected: AffectedComponent, public: bool = True) -> IncidentCreate:
    return IncidentCreate(
        title="Checkout errors", body="We are looking.", components=list(affected), public=public
    )


async def test_an_update_moves_the_incident_and_its_components(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        api = await component(session)
        partial = AffectedComponent(component_id=api.id, status=ComponentStatus.partial_outage)
        incident = await incidents.create_incident(
            session, opening(partial), posted_by="ops", now=utcnow()
        )
        assert (incident.status, api.status) == ("investigating", "partial_outage")

        major = AffectedComponent(component_id=api.id, status=ComponentStatus.major_outage)
        update = IncidentUpdateCreate(
            status=IncidentStatus.identified, body="Found.", components=[major]
        )
        await incidents.post_update(session, incident.id, update, posted_by="ops", now=utcnow())

    assert (incident.status, api.status) == ("identified", "major_outage")
    assert [u.status for u in incident.updates] == ["identified", "investigating"]
    assert incident.updates[0].affected_components == [
        {
            "code": api.id,
            "name": "API",
            "old_status": "partial_outage",
            "new_status": "major_outage",
        }
    ]


async def test_resolving_restores_the_components_and_writes_their_history(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        api = await component(session)
        affected = AffectedComponent(component_id=api.id)
        incident = await incidents.create_incident(
            session, opening(affected), posted_by="ops", now=utcnow()
        )
        later = utcnow() + timedelta(minutes=5)
        await incidents.resolve(session, incident.id, IncidentResolve(), posted_by="ops", now=later)

    assert (incident.status, incident.resolved_at, api.status) == ("resolved", later, "operational")
    async with sessions() as session:
        history = await session.execute(
            select(ComponentStatusChange.status, ComponentStatusChange.incident_id)
            .where(ComponentStatusChange.component_id == api.id)
            .order_by(ComponentStatusChange.id)
        )
        assert list(history) == [
            ("operational", None),
            ("major_outage", incident.id),
            ("operational", incident.id),
        ]


async def test_a_component_stays_down_while_another_open_incident_affects_it(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        api = await component(session)
        affected = AffectedComponent(component_id=api.id)
        first = await incidents.create_incident(
            session, opening(affected), posted_by="ops", now=utcnow()
        )
        await incidents.create_incident(session, opening(affected), posted_by="ops", now=utcnow())
        await incidents.resolve(session, first.id, IncidentResolve(), posted_by="ops", now=utcnow())
        assert api.status == "major_outage"


class Abandoned(Exception):
    """Raised inside a transaction to roll it back."""


async def open_and_abandon(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        incident = await incidents.create_incident(
            session, opening(), posted_by="ops", now=utcnow()
        )
        [notification] = (await session.scalars(select(Notification))).all()
        assert (notification.kind, notification.subject_id) == ("incident_update", incident.id)
        assert notification.update_id == incident.updates[0].id
        raise Abandoned


async def test_the_notification_is_written_in_the_same_transaction(sessions: Sessions) -> None:
    with pytest.raises(Abandoned):
        await open_and_abandon(sessions)

    async with sessions() as session:
        assert (await session.scalars(select(Incident))).all() == []
        assert (await session.scalars(select(Notification))).all() == []


async def test_a_private_incident_notifies_no_one(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await incidents.create_incident(
            session, opening(public=False), posted_by="ops", now=utcnow()
        )
        assert (await session.scalars(select(Notification))).all() == []


async def test_a_resolved_incident_takes_an_update_only_when_reopened(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        incident = await incidents.create_incident(
            session, opening(), posted_by="ops", now=utcnow()
        )
        await incidents.resolve(
            session, incident.id, IncidentResolve(), posted_by="ops", now=utcnow()
        )
        again = IncidentUpdateCreate(status=IncidentStatus.investigating, body="It is back.")
        with pytest.raises(Conflict):
            await incidents.post_update(session, incident.id, again, posted_by="ops", now=utcnow())
        with pytest.raises(Conflict):
            await incidents.resolve(
                session, incident.id, IncidentResolve(), posted_by="ops", now=utcnow()
            )

        await incidents.post_update(
            session, incident.id, again, posted_by="ops", now=utcnow(), reopen=True
        )
        assert (incident.status, incident.resolved_at) == ("investigating", None)


async def test_a_component_listed_twice_names_its_place(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        api = await component(session)
        twice = [AffectedComponent(component_id=api.id)] * 2
        with pytest.raises(InvalidField) as refused:
            await incidents.create_incident(session, opening(*twice), posted_by="ops", now=utcnow())
        assert refused.value.field == "components[1].component_id"
