"""The sign-up domain: codes, addresses, the audience, limits and expiry."""

from __future__ import annotations

from datetime import timedelta

import arq
import pytest
import redis.asyncio
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


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("+81 90-1234-5678", "+819012345678"), ("+1 (415) 555-0100", "+14155550100")],
)
def test_a_mobile_number_is_normalised_to_e164(typed: str, expected: str) -> None:
    assert signup.parse_mobile(typed, ["JP", "US"]) == expected


@pytest.mark.parametrize(
    "typed", ["090-1234-5678", "+81 3 1234 5678", "+44 7400 123456", "+1 416 555 0100"]
)
def test_national_form_landlines_and_other_countries_are_refused(typed: str) -> None:
    with pytest.raises(signup.Invalid) as refused:
        signup.parse_mobile(typed, ["JP", "US"])

    assert list(refused.value.errors) == ["phone"]


def test_an_email_address_is_kept_in_one_spelling() -> None:
    assert signup.parse_email(" Sam.Lee@Example.COM ") == "sam.lee@example.com"
    with pytest.raises(signup.Invalid):
        signup.parse_email("sam@")


def test_components_ticked_under_everything_are_a_question_not_a_guess() -> None:
    form = {"scope": "page", "locale": "en", "time_zone": "UTC"}
    assert signup.parse_choice(form, ["api"], []).page
    with pytest.raises(signup.Invalid) as refused:
        signup.parse_choice(form, ["api", "web"], ["api"])
    assert list(refused.value.errors) == ["components"]
    only = signup.parse_choice({**form, "scope": "components"}, ["api", "web"], ["api"])
    assert (only.page, only.components) == (False, ("api",))


def test_quiet_hours_are_both_or_neither() -> None:
    assert signup.parse_quiet_hours({}) is None
    hours = signup.parse_quiet_hours({"quiet_start": "22:00", "quiet_end": "07:00"})
    assert hours is not None
    assert [h.isoformat() for h in hours] == ["22:00:00", "07:00:00"]
    for bad in ({"quiet_start": "22:00"}, {"quiet_start": "09:00", "quiet_end": "09:00"}):
        with pytest.raises(signup.Invalid):
            signup.parse_quiet_hours(bad)


async def pending(sessions: Sessions, *addresses: tuple[str, str]) -> list[Signup]:
    async with sessions() as session, session.begin():
        return [
            await signup.request(
                session, channel, address, CHOICE, settings=SubscribeSettings(), now=utcnow()
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


async def test_limits_count_per_address_and_never_store_it(settings: Settings) -> None:
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    limits = signup.Limits(client, SubscribeSettings(per_destination=2), "secret")

    answers = [await limits.allow_destination("sam@example.com") for _ in range(3)]
    other = await limits.allow_destination("kim@example.com")
    keys = [k.decode() for k in await client.keys("forewarn:signup:*")]
    await client.aclose()

    assert answers == [True, True, False]
    assert other is True
    assert len(keys) == 2
    assert not any("example" in k for k in keys)


async def test_the_expiry_job_purges_stale_sign_ups_and_resends_lost_messages(
    settings: Settings, sessions: Sessions
) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        stale = await signup.request(
            session, "email", "old@example.com", CHOICE, settings=SubscribeSettings(),
            now=now - timedelta(hours=49),
        )  # fmt: skip
        lost = await signup.request(
            session, "email", "lost@example.com", CHOICE, settings=SubscribeSettings(),
            now=now - timedelta(minutes=5),
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
