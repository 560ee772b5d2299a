"""Suppressions of an erased customer's addresses: kept as keyed hashes, plain again when
the address comes back (by the ops API or a sign-up on the page)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import SubscribeSettings
from notifier import customers, signup, suppressions
from notifier.db import utcnow
from notifier.delivery import provider_events
from notifier.schemas.customers import CustomerPut
from notifier.statuses import ChannelName, SuppressionReason
from notifier.tables import Suppression

SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets
ADDRESS = "gone@example.com"

Sessions = async_sessionmaker[AsyncSession]


async def listed(sessions: Sessions) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(Suppression).order_by(Suppression.id))
        return [(s.channel, s.address, s.reason) for s in rows]


async def suppressed_then_forgotten(sessions: Sessions, reason: SuppressionReason) -> None:
    async with sessions() as session, session.begin():
        await provider_events.suppress(session, ChannelName.email, ADDRESS, reason, now=utcnow())
        assert await suppressions.forget(session, SECRET, [("email", ADDRESS)]) == 1


def test_a_digest_is_keyed_per_secret_and_channel_and_hides_the_address() -> None:
    one = suppressions.digest(SECRET, "email", ADDRESS)

    assert one.startswith("hmac-sha256:")
    assert len(one) == 76
    assert ADDRESS not in one
    assert one == suppressions.digest(SECRET, "email", ADDRESS)
    assert one != suppressions.digest("another secret", "email", ADDRESS)
    assert one != suppressions.digest(SECRET, "sms", ADDRESS)


async def test_forgetting_keeps_the_reason_and_date_under_the_digest(sessions: Sessions) -> None:
    await suppressed_then_forgotten(sessions, SuppressionReason.bounce)

    assert await listed(sessions) == [
        ("email", suppressions.digest(SECRET, "email", ADDRESS), "bounce")
    ]


async def test_forgetting_an_address_forgotten_before_keeps_one_digest(sessions: Sessions) -> None:
    await suppressed_then_forgotten(sessions, SuppressionReason.bounce)
    await suppressed_then_forgotten(sessions, SuppressionReason.spam_report)

    assert await listed(sessions) == [
        ("email", suppressions.digest(SECRET, "email", ADDRESS), "bounce")
    ]


async def test_a_put_with_the_address_re_arms_its_suppression(sessions: Sessions) -> None:
    await suppressed_then_forgotten(sessions, SuppressionReason.bounce)

    async with sessions() as session, session.begin():
        await customers.upsert_customer(
            session, "crm-back", CustomerPut(email=ADDRESS), secret=SECRET, now=utcnow()
        )

    assert await listed(sessions) == [("email", ADDRESS, "bounce")]


async def test_a_sign_up_with_the_address_re_arms_it_and_confirming_lifts_only_an_unsubscribe(
    sessions: Sessions,
) -> None:
    await suppressed_then_forgotten(sessions, SuppressionReason.unsubscribe)
    async with sessions() as session, session.begin():
        await provider_events.suppress(
            session, ChannelName.sms, "+819012345678", SuppressionReason.stop, now=utcnow()
        )
        await suppressions.forget(session, SECRET, [("sms", "+819012345678")])
    choice = signup.Choice(True, (), "en", "UTC")

    async with sessions() as session, session.begin():
        email = await signup.request(
            session, "email", ADDRESS, choice, settings=SubscribeSettings(), secret=SECRET,
            now=utcnow(),
        )  # fmt: skip
        sms = await signup.request(
            session, "sms", "+819012345678", choice, settings=SubscribeSettings(),
            secret=SECRET, now=utcnow(),
        )  # fmt: skip
    assert await listed(sessions) == [
        ("email", ADDRESS, "unsubscribe"),
        ("sms", "+819012345678", "stop"),
    ]
    async with sessions() as session, session.begin():
        for row in (email, sms):
            pending = await signup.pending(session, row.id, now=utcnow())
            assert pending is not None
            await signup.confirm(session, pending, now=utcnow())

    # They asked to come back by email; the STOP stands until they text START.
    assert await listed(sessions) == [("sms", "+819012345678", "stop")]


async def test_an_address_suppressed_again_since_keeps_the_newer_row(sessions: Sessions) -> None:
    await suppressed_then_forgotten(sessions, SuppressionReason.spam_report)
    async with sessions() as session, session.begin():
        await provider_events.suppress(
            session, ChannelName.email, ADDRESS, SuppressionReason.bounce, now=utcnow()
        )

        assert await suppressions.rearm(session, SECRET, "email", ADDRESS)

    assert await listed(sessions) == [("email", ADDRESS, "bounce")]


async def test_an_address_never_suppressed_re_arms_nothing(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        assert not await suppressions.rearm(session, SECRET, "email", ADDRESS)
    assert await listed(sessions) == []


async def test_a_re_arm_racing_a_new_suppression_of_the_address_keeps_that_one(
    sessions: Sessions,
) -> None:
    # PostgreSQL runs the two transactions side by side; SQLite has one writer at a
    # time, so the second would wait for the first and there is no race to lose.
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("the interleaving needs concurrent writers (PostgreSQL)")
    await suppressed_then_forgotten(sessions, SuppressionReason.spam_report)

    async with sessions() as bounce, bounce.begin():
        # A bounce of the address, not committed yet, while a PUT brings it back.
        await provider_events.suppress(
            bounce, ChannelName.email, ADDRESS, SuppressionReason.bounce, now=utcnow()
        )

        async def put_it_back() -> None:
            async with sessions() as session, session.begin():
                await customers.upsert_customer(
                    session, "crm-back", CustomerPut(email=ADDRESS), secret=SECRET, now=utcnow()
                )

        putting = asyncio.create_task(put_it_back())
        await asyncio.sleep(0.5)  # the PUT waits on the bounce's row: the order is set
        assert not putting.done()
    await putting

    assert await listed(sessions) == [("email", ADDRESS, "bounce")]


async def test_concurrent_re_arms_of_one_address_make_one_plain_suppression(
    sessions: Sessions,
) -> None:
    await suppressed_then_forgotten(sessions, SuppressionReason.bounce)

    async def put_it_back(external_id: str) -> None:
        async with sessions() as session, session.begin():
            await customers.upsert_customer(
                session, external_id, CustomerPut(email=ADDRESS), secret=SECRET, now=utcnow()
            )

    await asyncio.gather(*(put_it_back(f"crm-back-{n}") for n in range(4)))

    assert await listed(sessions) == [("email", ADDRESS, "bounce")]
