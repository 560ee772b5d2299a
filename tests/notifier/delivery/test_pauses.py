"""A provider refusing everyone pauses its channel for every worker, for as long as its
``Retry-After`` says (both providers), and a refused batch comes due again whole.

Against the loopback fakes; each ``sender`` is what another worker process would have
(its own channels and pause, one Redis). Times are checked on the delivery rows against
instants taken before the send, never by how long something took.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from email.utils import format_datetime

from arq import create_pool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery.channels import registry
from notifier.delivery.jobs import redis_settings
from notifier.delivery.pauses import Pause
from notifier.delivery.sending import Sender
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.twilio import error
from tests.notifier.delivery.deliveries import fan_out_now, rows, sender, with_delivery
from tests.notifier.delivery.test_sending import add_audience, post_incident

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]


async def test_twilio_retry_after_pauses_texts_for_every_worker(
    client: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    # One call at a time: the refusal comes before the batch's next call.
    settings = with_delivery(provider_settings, sms_concurrency=1)
    await add_audience(settings, 4, email=False, phone=True)
    twilio.fail(
        Failure(
            status=429, body=error(20429, "Too Many Requests", 429), headers={"Retry-After": "30"}
        )
    )
    await post_incident(client, admin)
    first, second, third, fourth = await fan_out_now(sessions, settings)
    before = utcnow()

    async with sender(settings) as one:
        wait = await one.send("sms", [first, second])
    async with sender(settings) as other:  # another worker, after the refusal
        await other.send("sms", [third, fourth])

    assert len(twilio.requests) == 1  # nobody asked again before the 30 s were up
    assert wait is not None
    assert wait > 25
    found = {r.id: r for r in await rows(sessions)}
    refused = found[first]
    assert (refused.status, refused.attempts, refused.last_error) == (
        "pending",
        1,
        "Twilio error 20429",
    )
    assert refused.next_attempt_at is not None
    assert refused.next_attempt_at >= before + timedelta(seconds=30)
    # Never sent, so no attempt spent; all due when the pause ends, together.
    waiting = [found[i] for i in (second, third, fourth)]
    assert {(r.status, r.attempts, r.last_error) for r in waiting} == {
        ("pending", 0, "Twilio refusing everyone")
    }
    assert len({r.next_attempt_at for r in waiting}) == 1
    assert waiting[0].next_attempt_at is not None
    assert waiting[0].next_attempt_at >= before + timedelta(seconds=29)


async def test_twilio_retry_after_as_an_http_date_is_honoured(
    client: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1, email=False, phone=True)
    at = utcnow() + timedelta(seconds=90)
    twilio.fail(
        Failure(
            status=503,
            body=error(20503, "Service Unavailable", 503),
            headers={"Retry-After": format_datetime(at, usegmt=True)},
        )
    )
    await post_incident(client, admin)
    [only] = await fan_out_now(sessions, provider_settings)

    async with sender(provider_settings) as one:
        await one.send("sms", [only])

    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at is not None
    assert abs((row.next_attempt_at - at).total_seconds()) < 5


async def test_sendgrid_retry_after_pauses_every_email_batch(
    client: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, email_batch_size=2)
    await add_audience(settings, 4)
    sendgrid.fail(Failure(status=429, headers={"Retry-After": "30"}))
    await post_incident(client, admin)
    ids = await fan_out_now(sessions, settings)
    before = utcnow()

    async with sender(settings) as one:
        await one.send("email", ids[:2])
    async with sender(settings) as other:
        await other.send("email", ids[2:])

    assert len(sendgrid.requests) == 1
    found = await rows(sessions)
    assert [(r.status, r.attempts) for r in found] == [("pending", 1)] * 2 + [("pending", 0)] * 2
    for row in found:
        assert row.next_attempt_at is not None
        assert row.next_attempt_at >= before + timedelta(seconds=29)


async def test_a_refused_batch_comes_due_again_whole(
    client: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, retry_base_seconds=10)
    await add_audience(settings, 20)
    sendgrid.fail(Failure(status=503))  # no Retry-After: our own backoff, once for all
    await post_incident(client, admin)
    ids = await fan_out_now(sessions, settings)

    async with sender(settings) as one:
        await one.send("email", ids)

    found = await rows(sessions)
    assert {(r.status, r.attempts) for r in found} == {("pending", 1)}
    assert len({r.next_attempt_at for r in found}) == 1  # not a jitter each


async def test_a_paused_channel_claims_nothing(
    client: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 2)
    await post_incident(client, admin)
    ids = await fan_out_now(sessions, provider_settings)
    redis = Redis.from_url(provider_settings.redis_url)
    await Pause(redis, "email", unsaid=1).pause(60)  # another worker was refused
    await redis.aclose()

    engine = create_engine(provider_settings.database_url)
    queue = await create_pool(redis_settings(provider_settings.redis_url))
    try:
        async with AsyncExitStack() as stack:
            made = sessionmaker(engine)
            channels = await registry.build(provider_settings, made, queue, stack)
            worker = Sender(made, channels, provider_settings, queue)
            wait = await worker.send("email", ids)
    finally:
        await queue.aclose()
        await engine.dispose()

    assert sendgrid.requests == []
    assert wait is not None
    assert wait > 50
    assert {(r.status, r.attempts, r.last_error) for r in await rows(sessions)} == {
        ("pending", 0, None)
    }


async def test_the_later_of_two_pauses_holds(provider_settings: Settings) -> None:
    redis = Redis.from_url(provider_settings.redis_url)
    try:
        one, other = Pause(redis, "sms", unsaid=1), Pause(redis, "sms", unsaid=1)
        long = await one.pause(60)
        short = await other.pause(None)  # a 503 naming no time, in another process

        assert short == long
        assert await Pause(redis, "sms", unsaid=1).until() == long
        assert await Pause(redis, "email", unsaid=1).until() is None
    finally:
        await redis.aclose()
