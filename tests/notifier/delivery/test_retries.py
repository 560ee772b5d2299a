"""Retries: how often, how soon, until when, and which late messages are dropped.

Against the loopback fakes: what a fake saw is what the customer got. Times are
checked on the delivery rows against instants taken before the send, never by
how long something took.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.tables import Delivery, Notification
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.twilio import error
from tests.notifier.delivery.deliveries import failed_once, fan_out_now, rows, sender, with_delivery
from tests.notifier.delivery.test_sending import (
    add_audience,
    enqueue,
    post_incident,
    run_worker,
    run_worker_until,
)

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def failure_recorded(sessions: Sessions) -> bool:
    found = await rows(sessions)
    return bool(found) and all(r.last_error and r.status != "sending" for r in found)


async def test_it_gives_up_after_max_attempts(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, max_attempts=2)
    await add_audience(settings, 1, email=False, phone=True)
    twilio.fail(Failure(status=500, body=error(20500, "Internal error", 500), times=-1))
    await post_incident(api, admin)

    async def settled() -> bool:
        # Either it gave up, or it tried once too often.
        return len(twilio.requests) > 2 or [r.status for r in await rows(sessions)] == ["failed"]

    await run_worker_until(settings, settled)

    assert len(twilio.requests) == 2
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error == "gave up after 2 attempts: Twilio error 20500"


async def test_the_next_attempt_waits_for_retry_after(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 2)
    sendgrid.fail(Failure(status=429, headers={"Retry-After": "30"}))
    before = utcnow()
    await post_incident(api, admin)

    await run_worker_until(provider_settings, lambda: failure_recorded(sessions))

    assert len(sendgrid.requests) == 1
    found = await rows(sessions)
    assert {(r.status, r.attempts, r.last_error) for r in found} == {
        ("pending", 1, "SendGrid answered 429")
    }
    for row in found:
        assert row.next_attempt_at is not None
        assert row.next_attempt_at >= before + timedelta(seconds=30)

    # Asked again before then (a job run early, a sweep), it sends nothing.
    async with sender(provider_settings) as early:
        wait = await early.send("email", [r.id for r in found])
    assert len(sendgrid.requests) == 1
    assert wait is not None
    assert wait > 20
    assert [r.status for r in await rows(sessions)] == ["pending", "pending"]


async def test_x_ratelimit_reset_is_a_time_not_a_delay(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1)
    reset = int(time.time()) + 40  # SendGrid's header: a Unix time
    sendgrid.fail(Failure(status=429, headers={"X-RateLimit-Reset": str(reset)}))
    await post_incident(api, admin)

    await run_worker_until(provider_settings, lambda: failure_recorded(sessions))

    [row] = await rows(sessions)
    assert row.status == "pending"
    assert row.next_attempt_at is not None
    assert abs(row.next_attempt_at.timestamp() - reset) < 5


async def test_a_retry_that_would_come_after_the_deadline_is_given_up_at_once(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, deadline_minutes=1)
    await add_audience(settings, 1)
    sendgrid.fail(Failure(status=429, headers={"Retry-After": "120"}))
    await post_incident(api, admin)

    await run_worker_until(settings, lambda: failure_recorded(sessions))

    [row] = await rows(sessions)
    assert (row.status, row.last_error) == (
        "failed",
        "gave up after 1 attempts: SendGrid answered 429",
    )
    assert len(sendgrid.requests) == 1


async def test_a_message_past_its_deadline_is_not_sent(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, deadline_minutes=1)
    await add_audience(settings, 2)
    await post_incident(api, admin)
    ids = await fan_out_now(sessions, settings)
    # Its jobs were lost and nothing ran for two minutes.
    async with sessions() as session, session.begin():
        old = utcnow() - timedelta(minutes=2)
        await session.execute(update(Notification).values(created_at=old))
        await session.execute(update(Delivery).values(created_at=old, next_attempt_at=old))

    await enqueue(settings, "send_batch", "email", ids)
    await run_worker(settings)

    assert sendgrid.requests == []
    assert {(r.status, r.last_error) for r in await rows(sessions)} == {
        ("failed", "past the delivery deadline")
    }


async def test_an_update_posted_before_the_first_was_sent_does_not_cancel_it(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    # Only a late *retry* of an older update is dropped; its first send is not late.
    # (No no-spam window here, as in every test but the care policies' own.)
    await add_audience(provider_settings, 1)
    incident_id = await post_incident(api, admin)
    response = await api.post(
        f"/api/v1/incidents/{incident_id}/updates",
        json={"status": "identified", "body": "We found the cause."},
        headers=admin,
    )
    assert response.status == 201
    await run_worker(provider_settings)

    subjects = sorted(r.body["subject"] for r in sendgrid.requests if r.message_id)
    assert subjects == [
        "[Test status] Checkout errors: Identified",
        "[Test status] Checkout errors: Investigating",
    ]
    assert [r.status for r in await rows(sessions)] == ["sent", "sent"]


async def test_another_incident_does_not_supersede_a_retry(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1)
    sendgrid.fail(Failure(status=503, headers={"Retry-After": "1"}))
    await post_incident(api, admin, "Checkout errors")

    await run_worker_until(provider_settings, lambda: failed_once(sessions))
    await post_incident(api, admin, "Search is slow")
    await run_worker(provider_settings)

    subjects = sorted(r.body["subject"] for r in sendgrid.requests if r.message_id)
    assert subjects == [
        "[Test status] Checkout errors: Investigating",
        "[Test status] Search is slow: Investigating",
    ]
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [("sent", 2), ("sent", 1)]


async def test_a_batch_for_one_channel_never_sends_another_channels_rows(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1, email=True, phone=True)
    await post_incident(api, admin)
    found = await fan_out_now(sessions, provider_settings)
    emails = [r.id for r in await rows(sessions) if r.channel == "email"]
    assert emails
    assert len(found) > len(emails)

    # Email rows handed to the SMS sender (a wrong job) are not its to send.
    async with sender(provider_settings) as wrong:
        await wrong.send("sms", emails)

    assert twilio.requests == []
    assert {r.status for r in await rows(sessions) if r.channel == "email"} == {"pending"}
