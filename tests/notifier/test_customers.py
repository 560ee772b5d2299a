"""Customers as the business syncs them: one row per external_id, replaced whole by each
PUT; found by address; erased on request with their row kept for history."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import customers
from notifier.db import utcnow
from notifier.errors import Conflict, InvalidField
from notifier.schemas.common import PageQuery
from notifier.schemas.customers import ConsentIn, CustomerPut, CustomerSearch, FollowsIn
from notifier.tables import Consent, Subscription

SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets

Sessions = async_sessionmaker[AsyncSession]


async def test_a_put_creates_once_then_replaces_the_customer_whole(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        first, created = await customers.upsert_customer(
            session,
            "cus_1",
            CustomerPut(given_name="Ada", email="Ada@Example.COM"),
            secret=SECRET,
            now=utcnow(),
        )
        assert created
        again, created = await customers.upsert_customer(
            session, "cus_1", CustomerPut(phone="+81 90 1234 5678"), secret=SECRET, now=utcnow()
        )
        assert not created
    assert again.id == first.id
    # A field left out takes its default: the name and email are gone.
    assert (again.given_name, again.email, again.phone) == (None, None, "+819012345678")
    async with sessions() as session:
        page, cursor = await customers.list_customers(session, PageQuery())
    assert ([c.external_id for c in page], cursor) == (["cus_1"], None)


async def test_consent_and_follows_are_granted_and_kept_when_left_out(
    sessions: Sessions,
) -> None:
    body = CustomerPut(
        email="ada@example.com",
        consent=ConsentIn(channels=["email"], legal_basis="contract"),
        follows=FollowsIn(page=True),
    )
    async with sessions() as session, session.begin():
        customer, _ = await customers.upsert_customer(
            session, "cus_1", body, secret=SECRET, now=utcnow()
        )
        await customers.upsert_customer(
            session, "cus_1", CustomerPut(email="ada@example.com"), secret=SECRET, now=utcnow()
        )
    async with sessions() as session:
        consent = await session.scalar(select(Consent).where(Consent.customer_id == customer.id))
        follows = await session.scalars(
            select(Subscription.component_id).where(Subscription.customer_id == customer.id)
        )
        assert consent is not None
        assert (consent.channel, consent.method, consent.legal_basis) == (
            "email",
            "imported",
            "contract",
        )
        assert consent.confirmed_at is not None
        assert consent.revoked_at is None
        assert follows.all() == [None]  # the whole page


async def test_an_inapp_user_id_belongs_to_one_customer(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await customers.upsert_customer(
            session, "cus_1", CustomerPut(inapp_user_id="u-1"), secret=SECRET, now=utcnow()
        )
        with pytest.raises(Conflict) as caught:
            await customers.upsert_customer(
                session, "cus_2", CustomerPut(inapp_user_id="u-1"), secret=SECRET, now=utcnow()
            )
    assert caught.value.field == "inapp_user_id"


async def test_customers_are_found_by_exactly_one_address_as_stored(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        for n, email in enumerate(["ada@example.com", "bob@example.com"]):
            await customers.upsert_customer(
                session, f"cus_{n}", CustomerPut(email=email), secret=SECRET, now=utcnow()
            )
    async with sessions() as session:
        found, _ = await customers.find_customers(session, CustomerSearch(email="ADA@example.com"))
        assert [c.external_id for c in found] == ["cus_0"]
        with pytest.raises(InvalidField):
            await customers.find_customers(session, CustomerSearch())
        both = CustomerSearch(email="ada@example.com", phone="+819012345678")
        with pytest.raises(InvalidField):
            await customers.find_customers(session, both)
