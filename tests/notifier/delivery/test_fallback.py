"""Fallback and channel order, end to end: the ops API, a real worker, the loopback
Twilio and SendGrid, the in-app inbox, and a controlled clock for unread messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from arq import create_pool
from pytest_aiohttp import AiohttpClient
from sqlalchemy import Engine, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import signing
from notifier.db import utcnow
from notifier.delivery import fallback, sweeper
from notifier.delivery.jobs import FALL_BACK_UNREAD, SWEEP, enqueue_batches, redis_settings
from notifier.tables import Delivery
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.twilio import error
from tests.status_page.test_webhooks import twilio_signed
from workers import create_worker

Headers = dict[str, str]
PHONE = "+14155550123"
EMAIL = "kim@example.com"
USER = "user-kim"


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def run_worker(settings: Settings) -> None:
    worker = create_worker(settings, settings.redis_url, burst=True, cron_jobs=[], poll_delay=0.01)
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def put_kim(client: Client, admin: Headers, **body: Any) -> None:
    body.setdefault("follows", {"page": True})
    response = await client.put("/api/v1/customers/kim", json=body, headers=admin)
    assert response.status in (200, 201), await response.text()


async def post_incident(client: Client, admin: Headers, title: str, impact: str = "minor") -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": title, "body": "We are looking into it.", "impact": impact},
        headers=admin,
    )
    assert response.status == 201, await response.text()


async def deliveries(client: Client, admin: Headers) -> list[dict[str, Any]]:
    """Kim's deliveries as the ops API shows them, oldest first."""
    response = await client.get("/api/v1/customers/kim/deliveries", headers=admin)
    assert response.status == 200
    rows: list[dict[str, Any]] = (await response.json())["data"]
    return sorted(rows, key=lambda d: d["id"])


def shown(rows: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(channel, status, whether it falls back from the row before it)."""
    before = [None] + [r["id"] for r in rows]
    return [
        (r["channel"], r["status"], r["fallback_of"] is not None and r["fallback_of"] == before[i])
        for i, r in enumerate(rows)
    ]


def text_fails(twilio: FakeTwilio, code: int) -> None:
    twilio.fail(Failure(status=400, body=error(code, "refused"), to=PHONE, times=-1))


EMAIL_AND_SMS = {"channels": ["email", "sms"], "legal_basis": "contract"}


async def test_a_permanent_sms_failure_falls_back_to_email_once(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    text_fails(twilio, 21614)  # not a mobile number
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    assert [r.to for r in twilio.requests] == [PHONE]
    assert sendgrid.delivered == [EMAIL]
    rows = await deliveries(api, admin)
    assert shown(rows) == [("sms", "failed", False), ("email", "sent", True)]
    assert rows[0]["last_error"] == "Twilio error 21614"

    # Once: the same failure handled again (a job run twice) makes nothing more.
    async with sessions() as session, session.begin():
        again = await fallback.after_failures(session, [rows[0]["id"]], now=utcnow())
    await run_worker(provider_settings)
    assert again == []
    assert sendgrid.delivered == [EMAIL]


async def test_without_an_order_a_failed_text_leaves_exactly_one_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await put_kim(api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS)
    text_fails(twilio, 21610)  # replied STOP
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    assert sendgrid.delivered == [EMAIL]
    assert sorted((r["channel"], r["status"]) for r in await deliveries(api, admin)) == [
        ("email", "sent"),
        ("sms", "failed"),
    ]


async def test_a_transient_sms_failure_does_not_fall_back(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    twilio.fail(Failure(status=503, body=error(20503, "Service unavailable", 503), to=PHONE))
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    assert twilio.delivered == [PHONE]  # on the retry
    assert sendgrid.requests == []
    assert shown(await deliveries(api, admin)) == [("sms", "sent", False)]


async def test_our_own_refused_credentials_do_not_fall_back(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    twilio.fail(Failure(status=401, body=error(20003, "Authenticate", 401), times=-1))
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    assert sendgrid.requests == []
    assert [(r["channel"], r["status"]) for r in await deliveries(api, admin)] == [
        ("sms", "parked")
    ]


async def test_no_sms_consent_and_email_consent_sends_the_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await put_kim(
        api,
        admin,
        email=EMAIL,
        phone=PHONE,
        consent={"channels": ["email"], "legal_basis": "contract"},
        channel_order=["sms", "email"],
    )
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    assert twilio.requests == []
    assert sendgrid.delivered == [EMAIL]
    rows = await deliveries(api, admin)
    assert shown(rows) == [("sms", "suppressed", False), ("email", "sent", True)]
    assert rows[0]["last_error"] == "no consent for this channel"


async def test_no_email_consent_means_nothing_goes_by_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await put_kim(
        api,
        admin,
        email=EMAIL,
        phone=PHONE,
        consent={"channels": ["sms"], "legal_basis": "contract"},
        channel_order=["sms", "email"],
    )
    text_fails(twilio, 21211)
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    assert sendgrid.requests == []
    rows = await deliveries(api, admin)
    assert shown(rows) == [("sms", "failed", False), ("email", "suppressed", True)]
    assert rows[1]["last_error"] == "no consent for this channel"


async def test_a_channel_order_sends_only_the_text_then_the_email_after_a_permanent_failure(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await put_kim(
        api,
        admin,
        email=EMAIL,
        phone=PHONE,
        inapp_user_id=USER,
        consent=EMAIL_AND_SMS,
        channel_order=["sms", "email"],
    )
    await post_incident(api, admin, "Slow pages")
    await run_worker(provider_settings)
    assert twilio.delivered == [PHONE]
    assert sendgrid.requests == []  # and nothing in-app: not in the order

    text_fails(twilio, 21610)
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)
    assert twilio.delivered == [PHONE]
    assert sendgrid.delivered == [EMAIL]
    assert "Checkout errors" in sendgrid.requests[0].body["subject"]
    assert [(r["channel"], r["status"]) for r in await deliveries(api, admin)] == [
        ("sms", "sent"),
        ("sms", "failed"),
        ("email", "sent"),
    ]


async def test_the_customer_api_keeps_a_channel_order_and_refuses_a_bad_one(
    api: Client, admin: Headers
) -> None:
    await put_kim(api, admin, email=EMAIL, channel_order=["inapp", "email"])
    got = await (await api.get("/api/v1/customers/kim", headers=admin)).json()
    assert got["channel_order"] == ["inapp", "email"]

    for bad in (["email", "email"], ["fax"], []):
        response = await api.put(
            "/api/v1/customers/kim", json={"email": EMAIL, "channel_order": bad}, headers=admin
        )
        assert response.status == 422, bad
        assert response.content_type == "application/problem+json"
        assert "channel_order" in await response.text()

    await put_kim(api, admin, email=EMAIL)  # left out: null, every channel at once
    got = await (await api.get("/api/v1/customers/kim", headers=admin)).json()
    assert got["channel_order"] is None


# --- Unread critical in-app messages -------------------------------------------------


async def unread_fallback(settings: Settings, *, after: timedelta) -> None:
    """The cron job, run by name at ``after`` from now, then its sends."""
    with time_machine.travel(utcnow() + after, tick=True):
        pool = await create_pool(redis_settings(settings.redis_url))
        await pool.enqueue_job(FALL_BACK_UNREAD)
        await pool.aclose()
        await run_worker(settings)


async def inbox(client: Client, settings: Settings) -> list[dict[str, Any]]:
    proof = signing.inapp_hash(settings.secret_key.get_secret_value(), USER)
    headers = {"X-Forewarn-User": USER, "X-Forewarn-User-Hash": proof}
    response = await client.get("/api/v1/inbox", headers=headers)
    assert response.status == 200
    messages: list[dict[str, Any]] = (await response.json())["data"]
    return messages


async def read(client: Client, settings: Settings, message_id: int) -> None:
    proof = signing.inapp_hash(settings.secret_key.get_secret_value(), USER)
    headers = {"X-Forewarn-User": USER, "X-Forewarn-User-Hash": proof}
    response = await client.post(f"/api/v1/inbox/{message_id}/read", headers=headers)
    assert response.status == 200


async def in_app_first(api: Client, admin: Headers, settings: Settings, impact: str) -> None:
    await put_kim(
        api,
        admin,
        email=EMAIL,
        inapp_user_id=USER,
        consent={"channels": ["email"], "legal_basis": "contract"},
        channel_order=["inapp", "email"],
    )
    await post_incident(api, admin, "Payments down", impact=impact)
    await run_worker(settings)


async def test_a_critical_in_app_message_unread_after_15_minutes_goes_by_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
) -> None:
    await in_app_first(api, admin, provider_settings, "critical")
    assert len(await inbox(api, provider_settings)) == 1
    assert sendgrid.requests == []

    await unread_fallback(provider_settings, after=timedelta(minutes=14))
    assert sendgrid.requests == []

    await unread_fallback(provider_settings, after=timedelta(minutes=16))
    assert sendgrid.delivered == [EMAIL]
    assert shown(await deliveries(api, admin)) == [
        ("inapp", "delivered", False),
        ("email", "sent", True),
    ]

    await unread_fallback(provider_settings, after=timedelta(minutes=20))  # once
    assert sendgrid.delivered == [EMAIL]


async def test_a_critical_in_app_message_that_was_read_stays_in_app(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
) -> None:
    await in_app_first(api, admin, provider_settings, "critical")
    [message] = await inbox(api, provider_settings)
    await read(api, provider_settings, message["id"])

    await unread_fallback(provider_settings, after=timedelta(minutes=16))
    assert sendgrid.requests == []


async def test_a_critical_in_app_message_archived_unread_stays_in_app(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
) -> None:
    await in_app_first(api, admin, provider_settings, "critical")
    [message] = await inbox(api, provider_settings)
    proof = signing.inapp_hash(provider_settings.secret_key.get_secret_value(), USER)
    headers = {"X-Forewarn-User": USER, "X-Forewarn-User-Hash": proof}
    archived = await api.post(f"/api/v1/inbox/{message['id']}/archive", headers=headers)
    assert (await archived.json())["data"]["read_at"] is None

    # Put away by its reader: dealt with, no email after it.
    await unread_fallback(provider_settings, after=timedelta(minutes=16))
    assert sendgrid.requests == []


async def test_an_unread_in_app_message_that_is_not_critical_stays_in_app(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
) -> None:
    await in_app_first(api, admin, provider_settings, "major")

    await unread_fallback(provider_settings, after=timedelta(minutes=16))
    assert sendgrid.requests == []
    assert [(r["channel"], r["status"]) for r in await deliveries(api, admin)] == [
        ("inapp", "delivered")
    ]


async def test_the_unread_time_is_a_setting(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
) -> None:
    from tests.notifier.delivery.deliveries import with_delivery

    settings = with_delivery(provider_settings, unread_fallback_minutes=5)
    await in_app_first(api, admin, settings, "critical")

    await unread_fallback(settings, after=timedelta(minutes=6))
    assert sendgrid.delivered == [EMAIL]


async def test_without_an_order_an_unread_critical_message_adds_no_second_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await put_kim(
        api,
        admin,
        email=EMAIL,
        inapp_user_id=USER,
        consent={"channels": ["email"], "legal_basis": "contract"},
    )
    await post_incident(api, admin, "Payments down", impact="critical")
    await run_worker(provider_settings)
    assert sendgrid.delivered == [EMAIL]  # every channel at once, as before

    await unread_fallback(provider_settings, after=timedelta(minutes=16))
    assert sendgrid.delivered == [EMAIL]
    async with sessions() as session:
        channels = (await session.scalars(select(Delivery.channel).order_by(Delivery.id))).all()
    assert sorted(channels) == ["email", "inapp"]


# --- A carrier's later verdict (a Twilio status callback) ----------------------------

STATUS = "/webhooks/twilio/status"


async def carrier_says(api: Client, twilio: FakeTwilio, status: str, code: int) -> None:
    """Twilio's signed status callback on the one text sent."""
    [request] = twilio.requests
    form = {"MessageSid": request.sid, "MessageStatus": status, "ErrorCode": str(code)}
    response = await api.post(STATUS, data=form, headers=twilio_signed(twilio, STATUS, form))
    assert response.status == 204


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("undelivered", 30005),  # unknown destination handset
        ("undelivered", 30006),  # landline or unreachable carrier
        ("failed", 21610),  # opted out
    ],
)
async def test_a_text_the_carrier_later_calls_undeliverable_for_good_goes_by_email(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    status: str,
    code: int,
) -> None:
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)
    assert twilio.delivered == [PHONE]
    assert sendgrid.requests == []

    await carrier_says(api, twilio, status, code)
    await run_worker(provider_settings)  # the job the callback enqueued

    assert sendgrid.delivered == [EMAIL]
    assert "Checkout errors" in sendgrid.requests[0].body["subject"]
    rows = await deliveries(api, admin)
    assert shown(rows) == [("sms", "failed", False), ("email", "sent", True)]
    assert rows[0]["last_error"] == f"carrier: {status} {code}"

    # Twilio tells again (undelivered, then failed): still one email.
    await carrier_says(api, twilio, "failed", code)
    await run_worker(provider_settings)
    assert sendgrid.delivered == [EMAIL]


@pytest.mark.parametrize(
    "code",
    [
        30003,  # the handset is off: the next text may arrive
        30007,  # filtered: our message or sender, not the number
        30008,  # unknown error
    ],
)
async def test_a_passing_carrier_failure_does_not_fall_back_even_after_a_sweep(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
    code: int,
) -> None:
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    await post_incident(api, admin, "Checkout errors")
    await run_worker(provider_settings)

    await carrier_says(api, twilio, "undelivered", code)
    await sweep_and_send(provider_settings, sessions, sweeps=1)

    assert sendgrid.requests == []
    assert shown(await deliveries(api, admin)) == [("sms", "failed", False)]


# --- A worker killed between a failure and its fallback ------------------------------


@contextlib.contextmanager
def fallback_write_fails_once() -> Iterator[list[str]]:
    """The first INSERT of a fallback row (a delivery with ``fallback_of``) in any engine
    raises, as if the worker died there: the failure before it is committed, the
    fallback is not. Yields the statements it broke."""
    broke: list[str] = []

    def before(
        _connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        rows = getattr(context, "compiled_parameters", None) or []
        if (
            not broke
            and statement.lstrip().upper().startswith("INSERT INTO DELIVERIES")
            and any(row.get("fallback_of") is not None for row in rows)
        ):
            broke.append(statement)
            raise ConnectionResetError("the worker was killed")

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield broke
    finally:
        event.remove(Engine, "before_cursor_execute", before)


async def sweep_and_send(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], *, sweeps: int
) -> list[sweeper.Sweep]:
    """``sweeps`` sweeps at once, as the sweep job runs them (what they find enqueued),
    then a worker's sends."""

    async def one() -> sweeper.Sweep:
        async with sessions() as session, session.begin():
            return await sweeper.sweep(session, settings.delivery, now=utcnow())

    found = await asyncio.gather(*(one() for _ in range(sweeps)))
    pool = await create_pool(redis_settings(settings.redis_url))
    try:
        for sweep in found:
            await enqueue_batches(pool, sweep.batches)
    finally:
        await pool.aclose()
    await run_worker(settings)
    return list(found)


async def lost_fallback(
    api: Client,
    admin: Headers,
    settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    """Kim's text fails for good and the worker dies before writing its email's row."""
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    text_fails(twilio, 21614)  # not a mobile number
    await post_incident(api, admin, "Checkout errors")
    with fallback_write_fails_once() as broke:
        await run_worker(settings)
    assert broke
    assert sendgrid.requests == []
    assert shown(await deliveries(api, admin)) == [("sms", "failed", False)]


@pytest.mark.parametrize("sweeps", [1, 2])
async def test_a_fallback_lost_with_its_worker_is_written_by_the_sweep_once(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
    sweeps: int,
) -> None:
    await lost_fallback(api, admin, provider_settings, twilio, sendgrid)

    found = await sweep_and_send(provider_settings, sessions, sweeps=sweeps)

    assert sum(sweep.fallbacks for sweep in found) == 1
    assert sendgrid.delivered == [EMAIL]
    assert "Checkout errors" in sendgrid.requests[0].body["subject"]
    rows = await deliveries(api, admin)
    assert shown(rows) == [("sms", "failed", False), ("email", "sent", True)]

    # The next sweeps find nothing more to do.
    again = await sweep_and_send(provider_settings, sessions, sweeps=2)
    assert [sweep.fallbacks for sweep in again] == [0, 0]
    assert sendgrid.delivered == [EMAIL]


async def test_the_sweep_job_writes_a_lost_fallback(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
) -> None:
    await lost_fallback(api, admin, provider_settings, twilio, sendgrid)

    with time_machine.travel(utcnow() + timedelta(minutes=1), tick=True):
        pool = await create_pool(redis_settings(provider_settings.redis_url))
        await pool.enqueue_job(SWEEP)
        await pool.aclose()
        await run_worker(provider_settings)

    assert sendgrid.delivered == [EMAIL]
    assert shown(await deliveries(api, admin)) == [
        ("sms", "failed", False),
        ("email", "sent", True),
    ]


async def test_the_sweep_leaves_failures_that_do_not_fall_back(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from tests.notifier.delivery.deliveries import with_delivery

    # Retried until given up, which is not the number's fault.
    settings = with_delivery(provider_settings, max_attempts=1)
    await put_kim(
        api, admin, email=EMAIL, phone=PHONE, consent=EMAIL_AND_SMS, channel_order=["sms", "email"]
    )
    twilio.fail(Failure(status=503, body=error(20503, "Service unavailable", 503), times=-1))
    await post_incident(api, admin, "Checkout errors")
    await run_worker(settings)
    [row] = await deliveries(api, admin)
    assert (row["status"], row["last_error"]) == (
        "failed",
        "gave up after 1 attempts: Twilio error 20503",
    )

    found = await sweep_and_send(settings, sessions, sweeps=1)
    assert [sweep.fallbacks for sweep in found] == [0]
    assert sendgrid.requests == []
