"""The sweeper: what it releases and re-enqueues, and what it must leave alone.

``sweep`` takes the time as an argument: a sweep "a day later" is a call, not a wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from arq import create_pool
from arq.jobs import Job, JobStatus
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import jobs, sweeper
from notifier.delivery.jobs import redis_settings
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.notifier.delivery.deliveries import failed_once, rows, with_delivery
from tests.notifier.delivery.test_sending import (
    add_audience,
    post_incident,
    run_worker,
    run_worker_until,
)

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def sweep_at(sessions: Sessions, settings: Settings, now: datetime) -> sweeper.Sweep:
    async with sessions() as session, session.begin():
        return await sweeper.sweep(session, settings.delivery, now=now)


async def enqueue_found(settings: Settings, found: sweeper.Sweep) -> None:
    """What the sweep job does with a sweep's findings."""
    pool = await create_pool(redis_settings(settings.redis_url))
    try:
        await jobs.enqueue_fan_outs(pool, found.fan_outs)
        await jobs.enqueue_batches(pool, found.batches)
    finally:
        await pool.aclose()


async def test_a_claim_within_its_lease_is_left_to_the_worker_sending_it(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1, email=False, phone=True)
    twilio.answering.clear()  # the text is in flight until we say so
    await post_incident(api, admin)
    pool = await create_pool(redis_settings(provider_settings.redis_url))
    again: Job | None = None
    stage = "in flight"

    async def step() -> bool:
        nonlocal again, stage
        if stage == "in flight" and "sms asked" in twilio.journal:
            # A sweep while the call is in flight (within the lease): nothing to release.
            found = await sweep_at(sessions, provider_settings, utcnow())
            assert (found.released, found.batches) == (0, [])
            assert [r.status for r in await rows(sessions)] == ["sending"]
            # Whatever runs that batch again meanwhile finds nothing to send.
            ids = [r.id for r in await rows(sessions)]
            again = await pool.enqueue_job(jobs.SEND_BATCH, "sms", ids, _job_id="send-again")
            stage = "sent again"
        elif stage == "sent again" and again is not None:
            # It had its turn: it finished (its result is not kept), put itself off until
            # the claim could lapse, or asked Twilio again (a duplicate, seen below).
            turn = await again.status() in (JobStatus.not_found, JobStatus.deferred)
            if turn or twilio.journal.count("sms asked") > 1:
                twilio.answering.set()
                stage = "answered"
        elif stage == "answered":
            return [r.status for r in await rows(sessions)] == ["sent"]
        return False

    try:
        await run_worker_until(provider_settings, step)
    finally:
        twilio.answering.set()
        await pool.aclose()

    assert twilio.delivered == ["+14155550000"]
    assert len(twilio.requests) == 1


async def test_a_sweep_long_after_everything_was_sent_sends_nothing_again(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 3, phone=True)
    await post_incident(api, admin)
    await run_worker(provider_settings)
    assert (len(sendgrid.delivered), len(twilio.delivered)) == (3, 3)

    found = await sweep_at(sessions, provider_settings, utcnow() + timedelta(days=1))
    assert (found.fan_outs, found.batches, found.released) == ([], [], 0)
    await enqueue_found(provider_settings, found)
    await run_worker(provider_settings)

    assert (len(sendgrid.delivered), len(twilio.delivered)) == (3, 3)
    assert {r.status for r in await rows(sessions)} == {"sent"}


async def test_a_retry_not_yet_due_is_not_enqueued_and_one_due_is(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1)
    sendgrid.fail(Failure(status=429, headers={"Retry-After": "60"}))
    await post_incident(api, admin)

    await run_worker_until(provider_settings, lambda: failed_once(sessions))
    [row] = await rows(sessions)
    assert row.next_attempt_at is not None

    early = await sweep_at(sessions, provider_settings, row.next_attempt_at - timedelta(seconds=5))
    assert early.batches == []
    # Redis was flushed meanwhile: the sweep after it is due is what sends it.
    late = await sweep_at(sessions, provider_settings, row.next_attempt_at + timedelta(seconds=5))
    assert [(b.channel, b.delivery_ids) for b in late.batches] == [("email", [row.id])]


async def test_the_grace_period_leaves_fresh_work_to_its_own_jobs(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, sweep_grace_seconds=30)
    await add_audience(settings, 1)
    sendgrid.fail(Failure(status=429, headers={"Retry-After": "1"}))
    await post_incident(api, admin)
    posted = utcnow()

    # A fan-out just enqueued is its job's to do, not the sweeper's, until the grace is over.
    assert (await sweep_at(sessions, settings, posted)).fan_outs == []
    assert len((await sweep_at(sessions, settings, posted + timedelta(seconds=31))).fan_outs) == 1

    await run_worker_until(settings, lambda: failed_once(sessions))
    [row] = await rows(sessions)
    assert row.next_attempt_at is not None
    due = row.next_attempt_at
    assert (await sweep_at(sessions, settings, due + timedelta(seconds=10))).batches == []
    [batch] = (await sweep_at(sessions, settings, due + timedelta(seconds=31))).batches
    assert batch.delivery_ids == [row.id]
