"""Delivery problems as an operator reports them: for named customers only, each update
newest first, a notification per update asked for, and no change once resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import customers, problems
from notifier.db import utcnow
from notifier.errors import Conflict, NotFound, UnknownReference
from notifier.schemas.customers import ConsentIn, CustomerPut, FollowsIn
from notifier.schemas.problems import (
    ProblemCreate,
    ProblemQuery,
    ProblemResolve,
    ProblemUpdateCreate,
)
from notifier.statuses import ProblemKind, ProblemStatus
from notifier.tables import Customer, Delivery, Notification
from tests.notifier.delivery.deliveries import fan_out_now

SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets

Sessions = async_sessionmaker[AsyncSession]


async def add_customer(session: AsyncSession, external_id: str, *, follows_page: bool) -> None:
    body = CustomerPut(
        email=f"{external_id}@example.com",
        consent=ConsentIn(channels=["email"], legal_basis="contract"),
        follows=FollowsIn(page=follows_page),
    )
    await customers.upsert_customer(session, external_id, body, secret=SECRET, now=utcnow())


def late(*external_ids: str, reference: str = "ORDER-1", notify: bool = True) -> ProblemCreate:
    return ProblemCreate(
        reference=reference,
        kind=ProblemKind.delayed,
        body="Your parcel is running late.",
        customers=list(external_ids),
        notify=notify,
    )


async def test_its_notification_goes_to_its_named_customers_only(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        # A problem reaches its customers whatever they follow, and nobody else.
        await add_customer(session, "cus_late", follows_page=False)
        await add_customer(session, "cus_other", follows_page=True)
        problem = await problems.create_problem(
            session, late("cus_late"), posted_by="ops", now=utcnow()
        )
    assert (problem.status, [c.external_id for c in problem.customers]) == (
        "open",
        ["cus_late"],
    )
    await fan_out_now(sessions, settings)
    async with sessions() as session:
        told = await session.execute(
            select(Customer.external_id, Delivery.channel, Delivery.status).join(
                Customer, Customer.id == Delivery.customer_id
            )
        )
        assert [tuple(r) for r in told] == [("cus_late", "email", "pending")]
        notification = await session.scalar(select(Notification))
    assert notification is not None
    assert (notification.kind, notification.subject_id, notification.update_id) == (
        "problem_update",
        problem.id,
        problem.updates[0].id,
    )


async def test_an_unknown_customer_is_named_by_its_place(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await add_customer(session, "cus_1", follows_page=False)
        with pytest.raises(UnknownReference) as caught:
            await problems.create_problem(
                session, late("cus_1", "cus_nobody"), posted_by="ops", now=utcnow()
            )
    assert caught.value.field == "customers[1]"


async def test_updates_move_it_and_only_those_asked_for_notify(sessions: Sessions) -> None:
    start = utcnow()
    eta = start + timedelta(days=2)
    async with sessions() as session, session.begin():
        await add_customer(session, "cus_1", follows_page=False)
        problem = await problems.create_problem(
            session, late("cus_1", notify=False), posted_by="ops", now=start
        )
        update = ProblemUpdateCreate(body="On its way again.", eta=eta)
        await problems.post_update(session, problem.id, update, posted_by="ops", now=start)
        resolved_at = start + timedelta(hours=1)
        await problems.resolve(
            session, problem.id, ProblemResolve(), posted_by="ops", now=resolved_at
        )
    assert (problem.status, problem.eta, problem.resolved_at) == ("resolved", eta, resolved_at)
    assert [u.status for u in problem.updates] == ["resolved", "in_progress", "open"]
    async with sessions() as session:
        notified = await session.scalars(select(Notification.update_id))
        assert sorted(notified.all()) == sorted(u.id for u in problem.updates[:2])
        with pytest.raises(Conflict):
            await problems.post_update(
                session, problem.id, ProblemUpdateCreate(body="Again."), posted_by="ops", now=start
            )
        with pytest.raises(NotFound):
            await problems.get_problem(session, "nope")


async def test_the_list_is_newest_first_and_filtered(sessions: Sessions) -> None:
    start = utcnow()
    async with sessions() as session, session.begin():
        await add_customer(session, "cus_1", follows_page=False)
        for n, reference in enumerate(["ORDER-1", "ORDER-2", "ORDER-3"]):
            await problems.create_problem(
                session,
                late("cus_1", reference=reference),
                posted_by="ops",
                now=start + timedelta(minutes=n),
            )
    async with sessions() as session:
        page, _ = await problems.list_problems(session, ProblemQuery())
        assert [p.reference for p in page] == ["ORDER-3", "ORDER-2", "ORDER-1"]
        page, _ = await problems.list_problems(session, ProblemQuery(reference="ORDER-2"))
        assert [p.reference for p in page] == ["ORDER-2"]
        page, _ = await problems.list_problems(session, ProblemQuery(status=ProblemStatus.resolved))
        assert list(page) == []
