"""Customers' profiles: consent and follows, read for a whole page at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components, customers, subscribers
from notifier.db import utcnow
from notifier.schemas.components import ComponentCreate
from notifier.schemas.customers import ConsentIn, CustomerPut, FollowsIn

SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets

Sessions = async_sessionmaker[AsyncSession]


async def test_profiles_keep_each_customers_consent_and_follows_apart(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        b = await components.create_component(session, ComponentCreate(name="B"), now=now)
        a = await components.create_component(session, ComponentCreate(name="A"), now=now)
        both = CustomerPut(
            email="both@example.com",
            phone="+819012345678",
            consent=ConsentIn(channels=["sms", "email"], legal_basis="contract"),
            follows=FollowsIn(page=True, components=[b.id, a.id]),
        )
        first, _ = await customers.upsert_customer(session, "crm-1", both, secret=SECRET, now=now)
        second, _ = await customers.upsert_customer(
            session, "crm-2", CustomerPut(), secret=SECRET, now=now
        )
        third, _ = await customers.upsert_customer(
            session,
            "crm-3",
            CustomerPut(follows=FollowsIn(components=[a.id])),
            secret=SECRET,
            now=now,
        )

        found = await subscribers.profiles(session, [third, first, second])

    assert [p.customer.external_id for p in found] == ["crm-3", "crm-1", "crm-2"]
    by_id = {p.customer.external_id: p for p in found}
    assert [c.channel for c in by_id["crm-1"].consents] == ["email", "sms"]
    assert {c.legal_basis for c in by_id["crm-1"].consents} == {"contract"}
    assert (by_id["crm-1"].follows_page, by_id["crm-1"].follows) == (
        True,
        tuple(sorted([a.id, b.id])),
    )
    assert (by_id["crm-2"].consents, by_id["crm-2"].follows_page, by_id["crm-2"].follows) == (
        (),
        False,
        (),
    )
    assert (by_id["crm-3"].follows_page, by_id["crm-3"].follows) == (False, (a.id,))


async def test_no_customers_have_no_profiles(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await subscribers.profiles(session, []) == []
