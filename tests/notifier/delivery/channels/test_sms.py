"""SMS through the loopback Twilio: each error code's outcome, for this text and the next;
what each request carries (our sender, the status callback, the manage link).

Error codes: https://www.twilio.com/docs/api/errors (21610: the recipient replied
STOP; 21614: not a mobile number; 21408: our account may not send to that region).
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.tables import Delivery, Suppression
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.twilio import error
from tests.notifier.delivery.deliveries import fan_out_now, rows, with_delivery
from tests.notifier.delivery.test_sending import (
    add_audience,
    enqueue,
    post_incident,
    run_worker,
    run_worker_until,
)
from tests.status_page.test_webhooks import twilio_signed

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]
FIRST, SECOND = "+14155550000", "+14155550001"


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def suppressions(sessions: Sessions) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        found = await session.scalars(select(Suppression).order_by(Suppression.address))
        return [(s.channel, s.address, s.reason) for s in found]


async def two_incidents(api: Client, admin: Headers, settings: Settings) -> None:
    """One incident, its texts sent; then a second one, its texts sent."""
    await post_incident(api, admin, "First")
    await run_worker(settings)
    await post_incident(api, admin, "Second")
    await run_worker(settings)


def asked(twilio: FakeTwilio, title: str) -> list[str]:
    """The numbers Twilio was asked to text about ``title``, in order."""
    return [r.to for r in twilio.requests if title in r.form["Body"]]


@pytest.mark.parametrize(
    ("code", "reason"), [(21610, "stop"), (21211, "invalid"), (21614, "invalid")]
)
async def test_it_suppresses_the_number_on_a_permanent_error_about_it(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
    code: int,
    reason: str,
) -> None:
    await add_audience(provider_settings, 2, email=False, phone=True)
    twilio.fail(Failure(status=400, body=error(code, "Refused"), to=SECOND, times=-1))

    await two_incidents(api, admin, provider_settings)

    assert asked(twilio, "First") == [FIRST, SECOND]  # one attempt: no retry can help
    assert asked(twilio, "Second") == [FIRST]  # never asked again
    assert await suppressions(sessions) == [("sms", SECOND, reason)]
    assert [(r.status, r.last_error) for r in await rows(sessions)] == [
        ("sent", None),
        ("failed", f"Twilio error {code}"),
        ("sent", None),
        ("suppressed", f"address suppressed: {reason}"),
    ]


async def test_an_rfc_9457_problem_answer_is_read_by_its_code(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    # Twilio's newer APIs answer errors as RFC 9457 problems (type, title, status, code).
    await add_audience(provider_settings, 1, email=False, phone=True)
    problem = {
        "type": "https://www.twilio.com/docs/api/errors/21610",
        "title": "Attempt to send to unsubscribed recipient",
        "status": 400,
        "code": 21610,
    }
    twilio.fail(Failure(status=400, body=problem))
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert await suppressions(sessions) == [("sms", FIRST, "stop")]
    assert [(r.status, r.last_error) for r in await rows(sessions)] == [
        ("failed", "Twilio error 21610")
    ]


async def test_it_fails_but_does_not_suppress_on_21408_our_accounts_region(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    # The number is fine; our account may not text its country. Once that is fixed,
    # the customer must get their texts again.
    await add_audience(provider_settings, 1, email=False, phone=True)
    twilio.fail(
        Failure(status=400, body=error(21408, "Permission to send an SMS has not been enabled"))
    )

    await two_incidents(api, admin, provider_settings)

    assert asked(twilio, "First") == [FIRST]
    assert twilio.delivered == [FIRST]  # the second text
    assert await suppressions(sessions) == []
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [("failed", 1), ("sent", 1)]


@pytest.mark.parametrize(
    "body",
    [
        error(20429, "Too Many Requests", 429),
        {"message": "Too Many Requests", "status": 429},  # no code: the status decides
        error(20503, "Service unavailable", 503),
    ],
)
async def test_it_retries_after_429_and_5xx(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
    body: dict[str, Any],
) -> None:
    await add_audience(provider_settings, 1, email=False, phone=True)
    twilio.fail(Failure(status=body["status"], body=body))
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert [r.sid != "" for r in twilio.requests] == [False, True]
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [("sent", 2)]
    assert await suppressions(sessions) == []


async def test_a_timeout_is_retried_not_given_up(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    settings = with_delivery(provider_settings, provider_timeout_seconds=0.2)
    await add_audience(settings, 1, email=False, phone=True)
    twilio.fail(Failure(status=201, delay=1))  # answered too late
    await post_incident(api, admin)
    await run_worker(settings)

    assert twilio.delivered == [FIRST]
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [("sent", 2)]


async def test_rejected_credentials_burn_nobody_and_park_the_text(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 1, email=False, phone=True)
    twilio.auth_token = "rotated"  # our configured token is now wrong: 401
    before = utcnow()
    await post_incident(api, admin)

    async def refused() -> bool:
        return [r.last_error for r in await rows(sessions)] == ["Twilio error 20003"]

    await run_worker_until(provider_settings, refused)

    [row] = await rows(sessions)
    # Parked for ops until they resume it, not retried (``notifier.delivery.parking``).
    assert row.status == "parked"
    assert row.next_attempt_at is None
    assert row.claimed_at is not None
    assert row.claimed_at >= before
    assert await suppressions(sessions) == []


async def test_a_stop_between_fan_out_and_send_stops_the_text(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 2, email=False, phone=True)
    await post_incident(api, admin)
    ids = await fan_out_now(sessions, provider_settings)
    path = "/webhooks/twilio/inbound"
    stop = {"From": SECOND, "To": "+15005550006", "Body": "STOP"}
    response = await api.post(path, data=stop, headers=twilio_signed(twilio, path, stop))
    assert response.status == 200

    await enqueue(provider_settings, "send_batch", "sms", ids)
    await run_worker(provider_settings)

    assert twilio.delivered == [FIRST]
    assert [(r.status, r.last_error) for r in await rows(sessions)] == [
        ("sent", None),
        ("suppressed", "suppressed: stop"),
    ]


async def test_each_sms_carries_the_sender_callback_and_its_segment_count(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    twilio: FakeTwilio,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 3, email=False, phone=True)
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert sorted(twilio.delivered) == ["+14155550000", "+14155550001", "+14155550002"]
    form = twilio.requests[0].form
    assert form["From"] == "+15005550006"
    assert form["StatusCallback"] == "http://status.test/webhooks/twilio/status"
    assert "Checkout errors" in form["Body"]
    # Every message links the page (the full update), last, and fits the segment limit.
    assert form["Body"].endswith(" http://status.test/")
    async with sessions() as session:
        rows = (await session.scalars(select(Delivery))).all()
    assert {(d.status, d.segments) for d in rows} == {("sent", 1)}
    assert {d.provider_id for d in rows} == {r.sid for r in twilio.requests}
