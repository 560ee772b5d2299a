"""Ops on call hear of each new follow-up of a low rating (``notifier/care/follow_ups.py``,
driven by the worker's ``alert_follow_ups``): once, by email and SMS through the fake
SendGrid and Twilio and by a signed webhook to a loopback receiver, also when the job
runs twice at the same time; the SMS names no one."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web

from config import Settings
from tests.conftest import Client, make_settings
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.status_page.api.v1.care_helpers import Sessions, add_customer, answer, open_incident
from tests.workers.ticks import job_context
from workers import jobs

SECRET = "on-call-webhook-secret-for-tests"
OPS_EMAIL = "oncall@example.com"
OPS_NUMBER = "+819012345678"
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps what it got and answers 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/forewarn", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/forewarn"
    yield found
    await runner.cleanup()


@pytest.fixture
def settings(
    database_url: str,
    redis_url: str,
    receiver: Receiver,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
) -> Settings:
    return make_settings(
        database_url,
        redis_url,
        sendgrid={
            "api_key": sendgrid.api_key,
            "from_email": "status@example.com",
            "base_url": sendgrid.url,
        },
        twilio={
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "from_number": "+15005550006",
            "base_url": twilio.url,
        },
        on_call={
            "emails": OPS_EMAIL,
            "numbers": OPS_NUMBER,
            "webhook_url": receiver.url,
            "webhook_secret": SECRET,
        },
        delivery={"retry_base_seconds": 0.01},
    )


async def alert(settings: Settings, sessions: Sessions) -> int:
    async with job_context(settings, sessions) as ctx:
        return await jobs.alert_follow_ups(ctx)


async def test_ops_are_told_once_of_a_low_rating_even_by_two_runs_at_once(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    receiver: Receiver,
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    recorded = await answer(
        sessions, "cust-1", incident, 1, channel="sms", comment="Found out on X", now=T0
    )
    assert recorded.follow_up is not None
    ident = recorded.follow_up.id

    counts = await asyncio.gather(alert(settings, sessions), alert(settings, sessions))
    assert sorted(counts) == [0, 1]
    assert await alert(settings, sessions) == 0

    assert sendgrid.delivered == [OPS_EMAIL]
    [mail] = sendgrid.requests
    assert mail.body["subject"] == (
        "[Test status] Low rating to follow up: CSAT 1 of 5 on Checkout is failing"
    )
    text = next(c["value"] for c in mail.body["content"] if c["type"] == "text/plain")
    assert "Customer: cust-1" in text
    assert "Comment: Found out on X" in text
    assert f"http://status.test/api/v1/follow-ups/{ident}" in text
    assert twilio.delivered == [OPS_NUMBER]
    sms = twilio.requests[0].form["Body"]
    assert sms == (
        'Test status: low rating to follow up (CSAT 1 of 5) on incident "Checkout is failing". '
        f"http://status.test/api/v1/follow-ups/{ident}"
    )
    assert "cust-1" not in sms
    assert "Found out" not in sms
    [(headers, body)] = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Forewarn-Signature"], expected)
    event = json.loads(body)
    assert (event["type"], event["id"]) == ("follow_up.opened", f"follow-up-{ident}")
    assert event["follow_up"]["score"] == 1
    assert event["follow_up"]["comment"] == "Found out on X"
    assert event["follow_up"]["channel"] == "sms"
    assert event["follow_up"]["customer"] == {"external_id": "cust-1"}
    assert event["follow_up"]["subject"] == {
        "type": "incident",
        "id": incident,
        "title": "Checkout is failing",
    }
    shown = await (await client.get(f"/api/v1/follow-ups/{ident}", headers=admin)).json()
    assert shown["alerted_at"] is not None


async def test_a_good_score_tells_no_one_and_a_second_low_one_is_its_own_alert(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    receiver: Receiver,
) -> None:
    await add_customer(client, admin, "cust-1")
    await add_customer(client, admin, "cust-2")
    incident = await open_incident(client, admin)
    await answer(sessions, "cust-1", incident, 4)
    assert await alert(settings, sessions) == 0

    await answer(sessions, "cust-2", incident, 2)
    await answer(sessions, "cust-2", incident, 1)  # changed: the same follow-up
    assert await alert(settings, sessions) == 1
    assert await alert(settings, sessions) == 0
    assert len(receiver.requests) == 1
