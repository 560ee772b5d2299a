"""A provider refusing our credentials (HTTP 401/403) parks the batch after one call: ops
are told at once (an ERROR naming the channel, never an address; a counter), nothing is
retried or suppressed, and ``resume`` sends it once the credentials are fixed, except
what is past the delivery deadline by then."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from arq import create_pool
from prometheus_client import REGISTRY
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import jobs, parking, sweeper
from notifier.tables import Customer, Delivery, Notification, Suppression
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.twilio import error
from tests.notifier.delivery.deliveries import rows, with_delivery
from tests.notifier.delivery.test_sending import add_audience, post_incident, run_worker

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]
REFUSED = Failure(status=401, body=error(20003, "Authenticate", 401), times=-1)


@pytest.fixture
def one_at_a_time(provider_settings: Settings) -> Settings:
    """One text in flight at a time: the first refusal is seen before a second call."""
    return with_delivery(provider_settings, sms_concurrency=1)


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, one_at_a_time: Settings) -> Client:
    return await aiohttp_client(create_app(one_at_a_time))


def auth_failures(channel: str) -> float:
    value = REGISTRY.get_sample_value("forewarn_provider_auth_failures_total", {"channel": channel})
    return value or 0.0


async def addresses(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        found = await session.execute(select(Customer.email, Customer.phone))
        return [a for row in found for a in row if a]


async def resume(sessions: Sessions, settings: Settings, channel: str | None) -> dict[str, int]:
    """What ``forewarn deliveries resume`` does, then the sweep the worker runs every 15 s."""
    async with sessions() as session, session.begin():
        resumed = await parking.resume(session, settings.delivery, now=utcnow(), channel=channel)
    pool = await create_pool(jobs.redis_settings(settings.redis_url))
    try:
        await pool.enqueue_job(jobs.SWEEP)
    finally:
        await pool.aclose()
    return resumed


def ops_alerts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and r.name == "notifier.delivery.parking"
    ]


async def test_a_401_from_twilio_parks_the_batch_after_one_call_and_tells_ops(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_audience(one_at_a_time, 3, email=False, phone=True)
    twilio.fail(REFUSED)
    before = auth_failures("sms")

    await post_incident(api, admin)
    await run_worker(one_at_a_time)  # a burst worker ends: nothing is left to retry

    assert len(twilio.requests) == 1
    found = await rows(sessions)
    assert [(r.status, r.last_error, r.next_attempt_at) for r in found] == [
        ("parked", "Twilio error 20003", None)
    ] * 3
    async with sessions() as session:
        assert (await session.scalars(select(Suppression))).all() == []
    assert auth_failures("sms") == before + 1
    [alert] = ops_alerts(caplog)
    assert alert.startswith("sms: the provider refused our credentials")
    assert "3 deliveries parked" in alert
    assert "forewarn deliveries resume --channel sms" in alert
    assert not any(address in caplog.text for address in await addresses(sessions))
    # The ops API counts them; the sweeper leaves them alone, however late it is.
    async with sessions() as session:
        notification_id = await session.scalar(select(Notification.id))
    counted = await api.get(f"/api/v1/notifications/{notification_id}", headers=admin)
    assert (await counted.json())["deliveries"] == {"sms": {"parked": 3}}
    async with sessions() as session, session.begin():
        late = await sweeper.sweep(session, one_at_a_time.delivery, now=utcnow() + timedelta(1))
    assert (late.fan_outs, late.batches, late.released) == ([], [], 0)


async def test_resumed_texts_are_sent_once_the_credentials_are_fixed(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(one_at_a_time, 2, email=False, phone=True)
    twilio.auth_token = "rotated"  # the real refusal: our configured token is now wrong
    await post_incident(api, admin)
    await run_worker(one_at_a_time)
    assert [r.status for r in await rows(sessions)] == ["parked", "parked"]
    async with sessions() as session:
        assert await parking.counts(session) == {"sms": 2}

    twilio.auth_token = one_at_a_time.twilio.auth_token.get_secret_value()  # fixed
    assert await resume(sessions, one_at_a_time, "sms") == {"sms": 2}
    await run_worker(one_at_a_time)

    assert [(r.status, r.last_error) for r in await rows(sessions)] == [("sent", None)] * 2
    assert sorted(twilio.delivered) == sorted(await addresses(sessions))
    async with sessions() as session:
        assert await parking.counts(session) == {}


async def test_a_parked_text_past_its_deadline_when_resumed_is_not_sent_late(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(one_at_a_time, 1, email=False, phone=True)
    twilio.fail(REFUSED)
    await post_incident(api, admin)
    await run_worker(one_at_a_time)
    # Ops took longer than the deadline (deadline_minutes) to fix the credentials.
    deadline = timedelta(minutes=one_at_a_time.delivery.deadline_minutes)
    async with sessions() as session, session.begin():
        await session.execute(update(Delivery).values(created_at=utcnow() - deadline))

    twilio.failures.clear()
    assert await resume(sessions, one_at_a_time, None) == {"sms": 1}
    await run_worker(one_at_a_time)

    assert len(twilio.requests) == 1  # the refused call only
    assert [(r.status, r.last_error) for r in await rows(sessions)] == [
        ("failed", "past the delivery deadline")
    ]


async def test_resuming_one_channel_leaves_the_other_parked(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(one_at_a_time, 1, email=True, phone=True)
    twilio.fail(REFUSED)
    sendgrid.api_key = "SG.rotated"
    await post_incident(api, admin)
    await run_worker(one_at_a_time)
    async with sessions() as session:
        assert await parking.counts(session) == {"email": 1, "sms": 1}

    twilio.failures.clear()
    assert await resume(sessions, one_at_a_time, "sms") == {"sms": 1}
    await run_worker(one_at_a_time)

    assert {(r.channel, r.status) for r in await rows(sessions)} == {
        ("sms", "sent"),
        ("email", "parked"),
    }


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refusal_from_sendgrid_parks_the_request_and_tells_ops(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    await add_audience(one_at_a_time, 3)
    body = {"errors": [{"message": "access forbidden"}]}
    sendgrid.fail(Failure(status=status, body=body, times=-1))
    before = auth_failures("email")

    await post_incident(api, admin)
    await run_worker(one_at_a_time)

    assert len(sendgrid.requests) == 1
    reason = f"SendGrid refused our credentials ({status})"
    assert [(r.status, r.last_error) for r in await rows(sessions)] == [("parked", reason)] * 3
    assert auth_failures("email") == before + 1
    [alert] = ops_alerts(caplog)
    assert alert.startswith("email: the provider refused our credentials")
    assert not any(address in caplog.text for address in await addresses(sessions))

    sendgrid.failures.clear()
    assert await resume(sessions, one_at_a_time, "email") == {"email": 3}
    await run_worker(one_at_a_time)

    assert [r.status for r in await rows(sessions)] == ["sent"] * 3
    assert len(sendgrid.delivered) == 3


async def test_resumed_deliveries_are_found_by_the_next_sweep_despite_its_grace(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    # The other tests run with a grace of 0, where a resume due only "now" looks the same.
    await add_audience(one_at_a_time, 2, email=False, phone=True)
    twilio.fail(REFUSED)
    await post_incident(api, admin)
    await run_worker(one_at_a_time)
    parked = sorted(r.id for r in await rows(sessions))
    assert [r.status for r in await rows(sessions)] == ["parked", "parked"]

    graced = with_delivery(one_at_a_time, sweep_grace_seconds=30).delivery
    now = utcnow()
    async with sessions() as session, session.begin():
        assert await parking.resume(session, graced, now=now) == {"sms": 2}
    async with sessions() as session, session.begin():
        found = await sweeper.sweep(session, graced, now=now)
    assert sorted(i for batch in found.batches for i in batch.delivery_ids) == parked
