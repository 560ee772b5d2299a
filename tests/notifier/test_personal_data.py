"""What is held about a customer: read out whole, or erased down to anonymous counts.

The end-to-end story (every table scanned for the address after an erasure, the
export read over HTTP) is in tests/status_page/api/v1/test_customers.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import api_keys, customers, personal_data, suppressions, timeline
from notifier.audience_rule import AudienceRule
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.schemas.common import PageQuery
from notifier.schemas.customers import ConsentIn, CustomerPut, FollowsIn
from notifier.tables import (
    Consent,
    Delivery,
    IdempotencyRecord,
    Notification,
    Signup,
    Subscription,
    Suppression,
)

SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets
ADA = CustomerPut(
    given_name="Ada",
    family_name="Lovelace",
    email="ada@example.com",
    phone="+819012345678",
    inapp_user_id="u-1",
    consent=ConsentIn(channels=["email", "sms"], legal_basis="contract"),
    follows=FollowsIn(page=True),
)

Sessions = async_sessionmaker[AsyncSession]


async def test_erasure_removes_personal_data_and_keeps_the_row(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        customer, _ = await customers.upsert_customer(
            session, "cus_1", ADA, secret=SECRET, now=utcnow()
        )
        erased = await personal_data.erase(session, "cus_1", secret=SECRET, now=utcnow())
    assert erased.id == customer.id
    assert erased.erased_at is not None
    assert (
        erased.external_id,
        erased.given_name,
        erased.family_name,
        erased.email,
        erased.phone,
        erased.inapp_user_id,
    ) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    async with sessions() as session:
        consents = (
            await session.scalars(select(Consent).where(Consent.customer_id == customer.id))
        ).all()
        assert consents
        assert all(c.revoked_at is not None for c in consents)
        assert await session.scalar(select(Subscription.id)) is None
        assert (await customers.list_customers(session, PageQuery()))[0] == []
        with pytest.raises(NotFound):
            await customers.get_customer(session, "cus_1")
        with pytest.raises(NotFound):
            await personal_data.export(session, "cus_1")


async def test_an_address_another_customer_has_keeps_its_suppression_and_sign_ups(
    sessions: Sessions,
) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        await customers.upsert_customer(session, "cus_1", ADA, secret=SECRET, now=now)
        shared = CustomerPut(email="ada@example.com")
        await customers.upsert_customer(session, "cus_2", shared, secret=SECRET, now=now)
        session.add(Suppression(channel="email", address="ada@example.com", reason="bounce"))
        session.add(Suppression(channel="sms", address="+819012345678", reason="stop"))
        session.add(
            Signup(kind="confirm", channel="email", address="ada@example.com", expires_at=now)
        )

        await personal_data.erase(session, "cus_1", secret=SECRET, now=now)

    async with sessions() as session:
        kept = (await session.scalars(select(Suppression.address).order_by(Suppression.id))).all()
        signups = (await session.scalars(select(Signup.address))).all()
    # The email is cus_2's too; the number was Ada's alone.
    assert kept == ["ada@example.com", suppressions.digest(SECRET, "sms", "+819012345678")]
    assert signups == ["ada@example.com"]


async def test_an_erased_customer_keeps_an_anonymous_history(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        customer, _ = await customers.upsert_customer(session, "cus_1", ADA, secret=SECRET, now=now)
        notification = Notification(
            kind="incident_update",
            event="incident_updated",
            subject_id="gone",
            update_id="gone",
            audience=AudienceRule(),
        )
        session.add(notification)
        await session.flush()
        session.add(
            Delivery(
                notification_id=notification.id,
                customer_id=customer.id,
                channel="email",
                status="bounced",
                attempts=1,
                provider_id="sg-1",
                last_error="bounce: 550 <ada@example.com> unknown",
                sent_at=now,
            )
        )
        session.add(
            IdempotencyRecord(
                api_key_id=await _key(session),
                key="k",
                request_hash="h",
                status=201,
                body='{"id":"p1","customers":["cus_1","cus_9"],"title":"cus_1"}',
                created_at=now,
            )
        )

        await personal_data.erase(session, "cus_1", secret=SECRET, now=now)

    async with sessions() as session:
        entries, _ = await timeline.page(session, customer.id, limit=20, cursor=None)
        replay = await session.scalar(select(IdempotencyRecord.body))
    [entry] = entries
    [sent] = entry.deliveries
    d = sent.delivery
    assert (d.channel, d.status, d.attempts, d.sent_at) == ("email", "bounced", 1, now)
    assert (d.last_error, d.provider_id) == (None, None)
    assert (entry.subject_title, entry.update_status) == (None, None)
    # Only the customers list changes: a title that happens to read "cus_1" stays.
    assert replay == '{"id":"p1","customers":["(erased)","cus_9"],"title":"cus_1"}'


async def _key(session: AsyncSession) -> str:
    key, _ = await api_keys.create_key(session, "k", ["admin"], now=utcnow())
    return key.id
