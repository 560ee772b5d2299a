"""The delivery engine against loopback fakes of SendGrid and Twilio, real Redis and DB."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio
from arq import create_pool
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery import fanout
from notifier.delivery.jobs import redis_settings
from notifier.tables import (
    Consent,
    Customer,
    Delivery,
    Notification,
    Subscription,
    Suppression,
)
from status_page import create_app
from tests import arq_workers
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.sendgrid import bad_address
from tests.fakes.twilio import error
from workers import create_worker

Headers = dict[str, str]


async def run_worker(settings: Settings, **options: Any) -> None:
    """A real arq worker in burst mode: runs until the queue is empty."""
    options.setdefault("cron_jobs", [])
    worker = create_worker(settings, settings.redis_url, burst=True, poll_delay=0.01, **options)
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def run_worker_until(
    settings: Settings, done: Callable[[], Awaitable[bool]], **options: Any
) -> None:
    """A real worker (not burst) until ``done()`` says so; bounded, never timed."""
    options.setdefault("cron_jobs", [])
    worker = create_worker(settings, settings.redis_url, poll_delay=0.01, **options)
    task = asyncio.create_task(worker.async_run())
    try:
        for _ in range(500):
            if await done():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the worker never got there")
    finally:
        await arq_workers.stop(worker, task)


async def enqueue(settings: Settings, function: str, *args: Any) -> None:
    pool = await create_pool(redis_settings(settings.redis_url))
    await pool.enqueue_job(function, *args)
    await pool.aclose()


async def add_audience(
    settings: Settings, count: int, *, email: bool = True, phone: bool = False, locale: str = "en"
) -> list[str]:
    """``count`` confirmed page subscribers, inserted in bulk (test setup only)."""
    engine = create_engine(settings.database_url)
    now = utcnow()
    tag = secrets.token_hex(3)
    customers = [
        {
            "id": f"{tag}{i:08d}"[:16],
            "external_id": f"bulk-{tag}-{i}",
            "given_name": f"Person {i}",
            "email": f"person{i}.{tag}@example.com" if email else None,
            "phone": f"+1415555{i:04d}" if phone else None,
            "locale": locale,
            "time_zone": "UTC",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    channels = [c for c, on in (("email", email), ("sms", phone)) if on]
    async with sessionmaker(engine)() as session, session.begin():
        await session.execute(insert(Customer), customers)
        await session.execute(
            insert(Subscription),
            [{"customer_id": c["id"], "component_id": None, "created_at": now} for c in customers],
        )
        await session.execute(
            insert(Consent),
            [
                {
                    "customer_id": c["id"],
                    "channel": ch,
                    "method": "imported",
                    "legal_basis": "contract",
                    "created_at": now,
                    "confirmed_at": now,
                }
                for c in customers
                for ch in channels
            ],
        )
    await engine.dispose()
    return [str(c["id"]) for c in customers]


async def post_incident(client: Client, headers: Headers, title: str = "Checkout errors") -> str:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": title, "body": "Some payments fail. We are on it."},
        headers=headers,
    )
    assert response.status == 201, await response.text()
    incident_id: str = (await response.json())["id"]
    return incident_id


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return {status: count for status, count in rows}


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def test_it_retries_after_429_honouring_retry_after(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 2)
    sendgrid.fail(Failure(status=429, headers={"Retry-After": "1"}))
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert len(sendgrid.requests) == 2
    assert sendgrid.requests[0].message_id == ""
    assert sorted(sendgrid.delivered) == sorted(sendgrid.requests[1].recipients)
    async with sessions() as session:
        rows = (await session.scalars(select(Delivery))).all()
    assert {(d.status, d.attempts) for d in rows} == {("sent", 2)}


async def test_it_retries_a_5xx_and_a_timeout_then_sends_once(
    api: Client,
    admin: Headers,
    aiohttp_client: AiohttpClient,
    database_url: str,
    redis_url: str,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from tests.conftest import make_settings

    settings = make_settings(
        database_url,
        redis_url,
        twilio={
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "from_number": "+15005550006",
            "base_url": twilio.url,
        },
        sendgrid={
            "api_key": sendgrid.api_key,
            "from_email": "s@example.com",
            "base_url": sendgrid.url,
        },
        delivery={"retry_base_seconds": 0.05, "provider_timeout_seconds": 0.5},
    )
    await add_audience(settings, 1, email=False, phone=True)
    twilio.fail(Failure(status=500, body=error(20500, "Internal error", 500)))
    twilio.fail(Failure(status=201, delay=2))  # answered too late: a timeout
    await post_incident(api, admin)
    await run_worker(settings)

    assert twilio.delivered == ["+14155550000"]
    async with sessions() as session:
        [delivery] = (await session.scalars(select(Delivery))).all()
    assert (delivery.status, delivery.attempts) == ("sent", 3)


async def test_a_permanent_failure_is_recorded_and_the_number_suppressed(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 2, email=False, phone=True)
    twilio.fail(
        Failure(
            status=400, body=error(21211, "Invalid 'To' Phone Number"), to="+14155550001", times=-1
        )
    )
    await post_incident(api, admin, "First")
    await run_worker(provider_settings)

    async with sessions() as session:
        failed = await session.scalar(select(Delivery).where(Delivery.status == "failed"))
        suppressed = (await session.scalars(select(Suppression))).all()
    assert failed is not None
    assert failed.attempts == 1  # no retry for a permanent error
    assert failed.last_error == "Twilio error 21211"
    assert [(s.channel, s.address, s.reason) for s in suppressed] == [
        ("sms", "+14155550001", "invalid")
    ]

    calls_before = len(twilio.requests)
    await post_incident(api, admin, "Second")
    await run_worker(provider_settings)
    assert [r.to for r in twilio.requests[calls_before:]] == ["+14155550000"]
    assert (await statuses(sessions))["suppressed"] == 1


async def test_a_rejected_address_fails_alone_and_the_rest_of_the_batch_is_sent(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 3)
    sendgrid.fail(Failure(status=400, body=bad_address(1)))
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert len(sendgrid.requests) == 2
    assert len(sendgrid.requests[1].recipients) == 2
    assert sendgrid.requests[0].recipients[1] not in sendgrid.delivered
    assert await statuses(sessions) == {"sent": 2, "failed": 1}


async def test_rejected_credentials_alert_ops_and_burn_nobody(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_audience(provider_settings, 2)
    sendgrid.api_key = "SG.rotated"  # our configured key is now wrong: 401
    await post_incident(api, admin)  # enqueues its fan-out

    async def refused() -> bool:
        return len(sendgrid.requests) > 0 and (await statuses(sessions)).get("sending", 0) == 0

    await run_worker_until(provider_settings, refused)

    async with sessions() as session:
        rows = (await session.scalars(select(Delivery))).all()
    assert [r.message_id for r in sendgrid.requests] == [""]
    # Parked for ops, not retried (``notifier.delivery.parking``).
    assert {(d.status, d.last_error) for d in rows} == {
        ("parked", "SendGrid refused our credentials (401)")
    }
    assert "SendGrid refused our API key" in caplog.text


async def test_a_worker_killed_between_claim_and_send_sends_each_message_once(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 5)
    await post_incident(api, admin)
    # Fan out, then leave every row as a killed worker would: claimed, never sent.
    async with sessions() as session, session.begin():
        [notification] = (await session.scalars(select(Notification))).all()
        await fanout.fan_out_page(
            session, notification.id, provider_settings.delivery, now=utcnow()
        )
        await session.execute(
            update(Delivery).values(
                status="sending", attempts=1, claimed_at=utcnow() - timedelta(minutes=5)
            )
        )
    client = redis.asyncio.Redis.from_url(provider_settings.redis_url)
    await client.flushdb()  # its jobs died with it
    await client.aclose()

    await enqueue(provider_settings, "sweep")
    await run_worker(provider_settings)

    assert sorted(sendgrid.delivered) == sorted(set(sendgrid.delivered))
    assert len(sendgrid.delivered) == 5
    # A re-run of the same batch finds nothing left to send.
    async with sessions() as session:
        ids = list((await session.scalars(select(Delivery.id))).all())
    await enqueue(provider_settings, "send_batch", "email", ids)
    await run_worker(provider_settings)
    assert len(sendgrid.delivered) == 5
    assert await statuses(sessions) == {"sent": 5}


async def test_redis_flushed_mid_fan_out_the_sweeper_completes_it(
    aiohttp_client: AiohttpClient,
    admin: Headers,
    database_url: str,
    redis_url: str,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from tests.conftest import make_settings

    settings = make_settings(
        database_url,
        redis_url,
        sendgrid={
            "api_key": sendgrid.api_key,
            "from_email": "s@example.com",
            "base_url": sendgrid.url,
        },
        delivery={"fanout_page_size": 10, "email_batch_size": 10, "sweep_grace_seconds": 0},
    )
    client = await aiohttp_client(create_app(settings))
    await add_audience(settings, 35)
    await post_incident(client, admin)
    async with sessions() as session, session.begin():
        [notification] = (await session.scalars(select(Notification))).all()
        await fanout.fan_out_page(session, notification.id, settings.delivery, now=utcnow())
    queue = redis.asyncio.Redis.from_url(settings.redis_url)
    await queue.flushdb()  # the fan-out job and the first page's batches are gone
    await queue.aclose()

    await enqueue(settings, "sweep")
    await run_worker(settings)

    assert sorted(sendgrid.delivered) == sorted(set(sendgrid.delivered))
    assert len(sendgrid.delivered) == 35
    async with sessions() as session:
        [notification] = (await session.scalars(select(Notification))).all()
    assert notification.status == "done"


async def test_a_retry_of_an_update_that_was_superseded_is_not_sent_late(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 1)
    sendgrid.fail(Failure(status=503, headers={"Retry-After": "2"}))
    incident_id = await post_incident(api, admin)  # enqueues its fan-out
    async with sessions() as session:
        [first] = (await session.scalars(select(Notification))).all()

    async def retry_pending() -> bool:  # fanned out, one send failed, its retry waits
        return len(sendgrid.requests) == 1 and await statuses(sessions) == {"pending": 1}

    await run_worker_until(provider_settings, retry_pending)
    update_response = await api.post(
        f"/api/v1/incidents/{incident_id}/updates",
        json={"status": "identified", "body": "We found the cause."},
        headers=admin,
    )
    assert update_response.status == 201
    await run_worker(provider_settings)

    assert len(sendgrid.delivered) == 1
    assert "Identified" in sendgrid.requests[-1].body["subject"]
    async with sessions() as session:
        old = await session.scalar(select(Delivery).where(Delivery.notification_id == first.id))
    assert old is not None
    assert (old.status, old.last_error) == ("failed", "superseded by a newer update")


async def test_fan_out_queues_every_text_before_the_first_email(
    aiohttp_client: AiohttpClient,
    admin: Headers,
    database_url: str,
    redis_url: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from tests.conftest import make_settings

    settings = make_settings(
        database_url, redis_url, delivery={"fanout_page_size": 10, "sms_batch_size": 100}
    )
    client = await aiohttp_client(create_app(settings))
    await add_audience(settings, 25, phone=True)
    await post_incident(client, admin)

    steps: list[list[tuple[str, int]]] = []
    done = False
    while not done:
        async with sessions() as session, session.begin():
            [notification] = (await session.scalars(select(Notification))).all()
            batches, done = await fanout.fan_out_page(
                session, notification.id, settings.delivery, now=utcnow()
            )
        steps.append([(b.channel, len(b.delivery_ids)) for b in batches])

    # Pages of 10 members: the 25 texts, then (no in-app users) the 25 emails.
    assert steps == [
        [("sms", 10)], [("sms", 10)], [("sms", 5)], [],
        [("email", 10)], [("email", 10)], [("email", 5)],
    ]  # fmt: skip
    async with sessions() as session:
        [notification] = (await session.scalars(select(Notification))).all()
        rows = (await session.scalars(select(Delivery.channel))).all()
    assert notification.status == "done"
    assert sorted(rows) == ["email"] * 25 + ["sms"] * 25


async def test_a_worker_sends_its_texts_before_its_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
) -> None:
    await add_audience(provider_settings, 30, phone=True)
    journal: list[str] = []
    sendgrid.journal = twilio.journal = journal
    twilio.answering.clear()  # Twilio is slow to answer
    await post_incident(api, admin)
    polls = 0

    async def everything_sent() -> bool:
        nonlocal polls
        if "sms asked" in journal and not twilio.answering.is_set():
            polls += 1
            # Email that did not wait for the texts reaches SendGrid well within 50 polls.
            if polls == 50 or "email asked" in journal:
                twilio.answering.set()
        return len(sendgrid.delivered) == 30 and len(twilio.delivered) == 30

    await run_worker_until(provider_settings, everything_sent)

    last_text = max(i for i, event in enumerate(journal) if event == "sms answered")
    assert journal.index("email asked") > last_text


def as_read(request: Any, index: int) -> tuple[str, str, str]:
    """What the ``index``-th recipient of a SendGrid request reads: its subject, text and
    HTML with the personalization's substitutions made, as SendGrid makes them."""
    said = request.body
    texts = [said["subject"], said["content"][0]["value"], said["content"][1]["value"]]
    for key, value in said["personalizations"][index]["substitutions"].items():
        texts = [text.replace(key, value) for text in texts]
    subject, text, html = texts
    return subject, text, html


async def test_one_batch_over_three_zones_is_rendered_once_per_channel_and_locale(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
) -> None:
    consent = {"channels": ["email", "sms"], "legal_basis": "contract"}
    zones = {
        "tokyo": ("Asia/Tokyo", "+14155550001", "Dec 20, 10:30 JST"),
        "nyc": ("America/New_York", "+14155550002", "Dec 19, 20:30 EST"),
        "istanbul": ("Europe/Istanbul", "+14155550003", "Dec 20, 04:30 (Europe/Istanbul)"),
    }
    for name, (zone, phone, _time) in zones.items():
        body = {
            "given_name": name.title(),
            "email": f"{name}@example.com",
            "phone": phone,
            "time_zone": zone,
            "consent": consent,
            "follows": {"page": True},
        }
        response = await api.put(f"/api/v1/customers/{name}", json=body, headers=admin)
        assert response.status == 201, await response.text()
    # And one in Japanese, in Tokyo: a locale of its own, so a rendering of its own.
    body = {
        "family_name": "山田",
        "email": "yamada@example.com",
        "locale": "ja",
        "time_zone": "Asia/Tokyo",
        "consent": {"channels": ["email"], "legal_basis": "contract"},
        "follows": {"page": True},
    }
    response = await api.put("/api/v1/customers/yamada", json=body, headers=admin)
    assert response.status == 201, await response.text()
    created = await api.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "next_update_by": "2026-12-20T01:30:00Z",
        },
        headers=admin,
    )
    assert created.status == 201, await created.text()
    await run_worker(provider_settings)

    # One SendGrid request per rendering: English once for three zones, Japanese once.
    by_locale = sorted(sendgrid.requests, key=lambda r: len(r.recipients))
    assert [sorted(r.recipients) for r in by_locale] == [
        ["yamada@example.com"],
        ["istanbul@example.com", "nyc@example.com", "tokyo@example.com"],
    ]
    english = by_locale[1]
    for index, to in enumerate(english.recipients):
        _subject, text, html = as_read(english, index)
        time = zones[to.split("@")[0]][2]
        assert f"We will send you the next update by {time}." in text
        assert time in html
        assert "%%" not in text + html
    _subject, text, html = as_read(by_locale[0], 0)
    assert "12月20日 10:30 JST" in text
    assert "12月20日 10:30 JST" in html
    # Texts go one a call, each with its recipient's time.
    texts = {r.to: r.form["Body"] for r in twilio.requests}
    assert len(texts) == 3
    for _zone, phone, time in zones.values():
        assert f"Next update by {time}." in texts[phone]
