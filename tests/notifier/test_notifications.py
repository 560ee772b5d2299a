"""The outbox: a notification row is written in the transaction of the update that causes
it, its id is handed over after the commit, and its deliveries are counted by channel and
status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import incidents, notifications
from notifier.audience_rule import AudienceRule
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.events import Event
from notifier.schemas.incidents import IncidentCreate
from notifier.tables import Customer, Delivery, Notification

Sessions = async_sessionmaker[AsyncSession]


async def test_the_row_is_written_with_its_update_or_not_at_all(sessions: Sessions) -> None:
    body = IncidentCreate(title="Checkout errors", body="We are looking.")
    async with sessions() as session:
        transaction = await session.begin()
        await incidents.create_incident(session, body, posted_by="ops", now=utcnow())
        await transaction.rollback()
    async with sessions() as session:
        assert await session.scalar(select(Notification.id)) is None

    async with sessions() as session:
        async with session.begin():
            incident = await incidents.create_incident(session, body, posted_by="ops", now=utcnow())
        created = notifications.created_in(session)
        assert notifications.created_in(session) == []  # handed over once
    async with sessions() as session:
        [notification] = await notifications.for_subject(session, incident.id)
    assert created == [notification.id]
    assert (notification.kind, notification.update_id, notification.status) == (
        "incident_update",
        incident.updates[0].id,
        "pending",
    )


async def test_counts_group_deliveries_by_channel_and_status(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        told = notifications.add(
            session,
            kind="incident_update",
            event=Event.incident_updated,
            subject_id="inc1",
            update_id="upd1",
            audience=AudienceRule(),
            now=utcnow(),
        )
        quiet = notifications.add(
            session,
            kind="incident_update",
            event=Event.incident_updated,
            subject_id="inc1",
            update_id="upd2",
            audience=AudienceRule(),
            now=utcnow(),
        )
        people = [Customer(external_id=f"cus_{n}") for n in range(3)]
        session.add_all(people)
        await session.flush()
        for person, (email, sms) in zip(
            people, [("sent", "failed"), ("sent", "sent"), ("bounced", None)], strict=True
        ):
            session.add(
                Delivery(
                    notification_id=told.id, customer_id=person.id, channel="email", status=email
                )
            )
            if sms is not None:
                session.add(
                    Delivery(
                        notification_id=told.id, customer_id=person.id, channel="sms", status=sms
                    )
                )
    async with sessions() as session:
        counted = await notifications.counts(session, [told.id, quiet.id])
        assert await notifications.counts(session, []) == {}
    assert counted == {
        told.id: {"email": {"sent": 2, "bounced": 1}, "sms": {"sent": 1, "failed": 1}},
        quiet.id: {},
    }


async def test_a_subjects_notifications_and_a_customers_timeline_are_newest_first(
    sessions: Sessions,
) -> None:
    start = utcnow()
    async with sessions() as session, session.begin():
        customer = Customer(external_id="cus_1")
        session.add(customer)
        await session.flush()
        added = []
        for n in range(3):
            notification = notifications.add(
                session,
                kind="incident_update",
                event=Event.incident_updated,
                subject_id="inc1",
                update_id=f"upd{n}",
                audience=AudienceRule(),
                now=start + timedelta(minutes=n),
            )
            await session.flush()
            session.add(
                Delivery(
                    notification_id=notification.id,
                    customer_id=customer.id,
                    channel="email",
                    created_at=start + timedelta(minutes=n),
                )
            )
            added.append(notification.id)
    async with sessions() as session:
        listed = await notifications.for_subject(session, "inc1")
        assert [n.id for n in listed] == added[::-1]
        first, cursor = await notifications.deliveries_of(
            session, customer.id, limit=2, cursor=None
        )
        rest, end = await notifications.deliveries_of(session, customer.id, limit=2, cursor=cursor)
        assert [d.notification_id for d in [*first, *rest]] == added[::-1]
        assert end is None
        with pytest.raises(NotFound):
            await notifications.get(session, "nope")
        assert (await notifications.get(session, added[0])).update_id == "upd0"
