"""Sign-ups and their confirmation: codes, the audience, confirming and expiry."""

from __future__ import annotations

from datetime import timedelta

import arq
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings, SubscribeSettings
from notifier import signup
from notifier.db import utcnow
from notifier.delivery.jobs import redis_settings
from notifier.tables import Customer, Delivery, Signup, Subscription
from tests.conftest import Client
from tests.notifier.delivery.test_sending import post_incident, run_worker

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]
SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets
CHOICE = signup.Choice(page=True, components=(), locale="en", time_zone="UTC")


def test_an_sms_code_is_six_digits_and_the_same_on_every_resend() -> None:
    code = signup.code_for("secret", "abc123")

    assert len(code) == 6
    assert code.isdigit()
    assert signup.code_for("secret", "abc123") == code
    assert signup.code_for("other secret", "abc123") != code or code == "000000"


def test_an_sms_code_is_what_earlier_releases_texted() -> None:
    # Computed by the code before notifier.signing: a code texted before an upgrade
    # must still confirm after it.
    assert signup.code_for("legacy-secret-for-a-frozen-token", "Z9y8X7w6V5u4") == "297031"


async def pending(sessions: Sessions, *addresses: tuple[str, str]) -> list[Signup]:
    async with sessions() as session, session.begin():
        return [
            await signup.request(
                session,
                channel,
                address,
                CHOICE,
                settings=SubscribeSettings(),
                secret=SECRET,
                now=utcnow(),
            )
            for channel, address in addresses
        ]


async def deliveries(sessions: Sessions) -> list[tuple[str | None, str | None, str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.email, Customer.phone, Delivery.channel, Delivery.status)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Delivery.channel != "inapp")
            .order_by(Delivery.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_pending_sign_up_is_never_in_the_audience(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        # Known and following the page, but never consented: reachable only once confirmed.
        known = Customer(email="known@example.com", created_at=now, updated_at=now)
        session.add(known)
        await session.flush()
        session.add(Subscription(customer_id=known.id, component_id=None))
    await pending(sessions, ("email", "known@example.com"), ("email", "new@example.com"))

    await post_incident(client, admin)
    await run_worker(settings)

    # Only the confirmation messages went out; the incident reached no pending address.
    assert await deliveries(sessions) == [("known@example.com", None, "email", "suppressed")]
    async with sessions() as session:
        assert (await session.scalars(select(Customer.email))).all() == ["known@example.com"]


async def test_confirming_makes_the_customer_and_settles_every_pending_sign_up(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    first, _second = await pending(sessions, ("sms", "+819012345678"), ("sms", "+819012345678"))
    async with sessions() as session, session.begin():
        verified = await signup.verify_code(
            session, first.id, signup.code_for(SECRET, first.id), secret=SECRET, now=utcnow()
        )
    assert verified.customer is not None

    await post_incident(client, admin)
    await run_worker(settings)

    assert await deliveries(sessions) == [(None, "+819012345678", "sms", "sent")]
    async with sessions() as session:
        assert (await session.scalars(select(Signup))).all() == []


async def test_the_expiry_job_purges_stale_sign_ups_and_resends_lost_messages(
    settings: Settings, sessions: Sessions
) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        stale = await signup.request(
            session, "email", "old@example.com", CHOICE, settings=SubscribeSettings(),
            secret=SECRET, now=now - timedelta(hours=49),
        )  # fmt: skip
        lost = await signup.request(
            session, "email", "lost@example.com", CHOICE, settings=SubscribeSettings(),
            secret=SECRET, now=now - timedelta(minutes=5),
        )  # fmt: skip
        stale_id, lost_id = stale.id, lost.id

    pool = await arq.create_pool(redis_settings(settings.redis_url))
    await pool.enqueue_job("expire_signups")
    await pool.aclose()
    await run_worker(settings)

    async with sessions() as session:
        rows = {s.id: s for s in (await session.scalars(select(Signup))).all()}
    assert stale_id not in rows
    assert rows[lost_id].sent_at is not None  # its message went out after all
