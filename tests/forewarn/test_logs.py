"""No email address or phone number in any log line, and what ``/metrics`` shows after
it all: a whole scenario at DEBUG, every part real.

People sign up by email and by SMS (and confirm), ops upsert a customer with an email
address and a phone number, an incident reaches all of them through a real ``forewarn
worker`` process (JSON logs at DEBUG, its figures in a shared metrics directory), a
carrier says a text was delivered, the customer's email bounces (the reason quotes
the address), a number replies STOP, the resolution goes out to who is left, and a
customer answers the rating prompt by text. The web app's log lines (captured at
DEBUG) and every line the worker wrote are scanned for each address and number used,
and for anything shaped like one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from forewarn import logs
from notifier.tables import Customer, Delivery, Notification, Rating
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.notifier.care.test_prompts import tick
from tests.resilience.cluster import (
    ACCOUNT_SID,
    API_KEY,
    AUTH_TOKEN,
    FROM_NUMBER,
    Providers,
    WorkerProcess,
    worker_environment,
)
from tests.resilience.test_killed_worker import until
from tests.status_page.signups import sign_up
from tests.status_page.test_subscribe import confirm_by_link
from tests.status_page.test_webhooks import sendgrid_signed, twilio_signed, with_hooks

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]

SIGNUP_EMAIL = "hana.sato@example.org"
SIGNUP_PHONE = "+1 415 555 0142"
SIGNUP_E164 = "+14155550142"
ANN_EMAIL = "ann.crm@example.com"
ANN_PHONE = "+81 90-2222-3333"
ANN_E164 = "+819022223333"
# Each as typed, as stored, and the number's national digits.
NEEDLES = (
    SIGNUP_EMAIL,
    ANN_EMAIL,
    SIGNUP_PHONE,
    SIGNUP_E164,
    "4155550142",
    ANN_PHONE,
    ANN_E164,
    "9022223333",
    "90-2222-3333",
)
EMAIL_SHAPED = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
E164_SHAPED = re.compile(r"\+\d{8,15}\b")


@pytest.fixture
async def providers() -> Any:
    found = Providers(sms_delay=0, email_delay=0)
    await found.start()
    yield found
    await found.stop()


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    return tmp_path / "metrics"


@pytest.fixture
def web_settings(
    database_url: str,
    redis_url: str,
    providers: Providers,
    signing_key: ec.EllipticCurvePrivateKey,
    metrics_dir: Path,
) -> Settings:
    settings = make_settings(
        database_url,
        redis_url,
        twilio={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": FROM_NUMBER,
            "base_url": providers.twilio.url,
        },
        sendgrid={
            "api_key": API_KEY,
            "from_email": "status@example.com",
            "base_url": providers.sendgrid.url,
        },
        metrics={"dir": str(metrics_dir)},
        ratings={"delay_minutes": 0},
    )
    return with_hooks(settings, signing_key)


@pytest.fixture
async def web(aiohttp_client: AiohttpClient, web_settings: Settings) -> Client:
    return await aiohttp_client(create_app(web_settings))


@pytest.fixture
def quiet_libraries() -> Iterator[None]:
    """As the ``forewarn`` command sets them (``forewarn.logs``), for this test only."""
    loggers = [logging.getLogger(name) for name in logs.QUIET]
    levels = [logger.level for logger in loggers]
    logs.quiet_libraries()
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
async def worker(
    database_url: str, redis_url: str, providers: Providers, metrics_dir: Path, tmp_path: Path
) -> Any:
    env = worker_environment(
        database_url,
        redis_url,
        providers,
        {
            "retry_base_seconds": 0.05,
            "sweep_grace_seconds": 0,
            "sms_window_minutes": 0,
            "email_window_minutes": 0,
        },
    )
    env.update(
        FOREWARN_LOG_FORMAT="json",
        FOREWARN_LOG_LEVEL="DEBUG",
        FOREWARN_METRICS__DIR=str(metrics_dir),
        FOREWARN_RATINGS__DELAY_MINUTES="0",
    )
    process = WorkerProcess(env, tmp_path / "worker", "worker")
    await process.ready()
    yield process
    process.stop()


def mail_text(providers: Providers, to: str) -> str:
    """The plain text of the last email ``to`` got, as its recipient reads it."""
    [request] = [r for r in providers.sendgrid.requests if r.message_id and to in r.recipients][-1:]
    [personalization] = [p for p in request.body["personalizations"] if p["to"][0]["email"] == to]
    [text] = [str(c["value"]) for c in request.body["content"] if c["type"] == "text/plain"]
    for key, value in personalization.get("substitutions", {}).items():
        text = text.replace(key, str(value))
    return text


async def post(web: Client, path: str, body: dict[str, Any], headers: Headers) -> Any:
    response = await web.post(path, json=body, headers=headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def settled(sessions: Sessions, notifications: int) -> bool:
    """Every one of ``notifications`` fanned out and none of its deliveries unsent."""
    async with sessions() as session:
        done = await session.scalar(select(func.count()).where(Notification.status == "done"))
        unsent = await session.scalar(
            select(func.count()).where(Delivery.status.in_(("pending", "sending")))
        )
    return done == notifications and unsent == 0


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called ``name`` in a Prometheus exposition, by their labels."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def leaks(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if any(n in line for n in NEEDLES) or EMAIL_SHAPED.search(line) or E164_SHAPED.search(line)
    ]


async def test_a_whole_scenario_logs_no_address_and_metrics_count_every_delivery(
    web: Client,
    web_settings: Settings,
    admin: Headers,
    sessions: Sessions,
    providers: Providers,
    worker: WorkerProcess,
    signing_key: ec.EllipticCurvePrivateKey,
    quiet_libraries: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    # Sign-ups by email and by SMS, each confirmed the way its message says.
    assert (await sign_up(web, email=SIGNUP_EMAIL)).status == 200
    assert (await sign_up(web, channel="sms", phone=SIGNUP_PHONE)).status == 200
    await until(
        lambda: _true(
            SIGNUP_EMAIL in providers.sendgrid.delivered
            and SIGNUP_E164 in providers.twilio.delivered
        ),
        "the sign-up messages",
    )
    await confirm_by_link(web, {"body": mail_text(providers, SIGNUP_EMAIL)})
    inbound = "/webhooks/twilio/inbound"
    yes = {"From": SIGNUP_E164, "To": FROM_NUMBER, "Body": "YES"}
    signed = twilio_signed(providers.twilio, inbound, yes)
    answer = await web.post(inbound, data=yes, headers=signed)
    assert answer.status == 200

    # A customer from the business's CRM, by the ops API.
    ann = {
        "given_name": "Ann",
        "email": ANN_EMAIL,
        "phone": ANN_PHONE,
        "consent": {"channels": ["email", "sms"], "legal_basis": "contract"},
        "follows": {"page": True},
    }
    upserted = await web.put("/api/v1/customers/crm-ann", json=ann, headers=admin)
    assert upserted.status in (200, 201), await upserted.text()

    incident = await post(
        web, "/api/v1/incidents", {"title": "Checkout errors", "body": "Some fail."}, admin
    )
    await until(lambda: settled(sessions, 1), "the incident's deliveries")
    assert sorted(providers.sendgrid.delivered) == sorted([SIGNUP_EMAIL, SIGNUP_EMAIL, ANN_EMAIL])
    assert sorted(providers.twilio.delivered) == sorted([SIGNUP_E164, SIGNUP_E164, ANN_E164])

    # The carrier delivered Ann's text; her email bounced; the sign-up's number says STOP.
    async with sessions() as session:
        found = await session.execute(
            select(Delivery.channel, Delivery)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Customer.external_id == "crm-ann")
        )
        rows = {channel: row for channel, row in found}
    status = "/webhooks/twilio/status"
    delivered = {"MessageSid": rows["sms"].provider_id or "", "MessageStatus": "delivered"}
    answer = await web.post(
        status, data=delivered, headers=twilio_signed(providers.twilio, status, delivered)
    )
    assert answer.status == 204
    bounce = json.dumps(
        [
            {
                "event": "bounce",
                "email": ANN_EMAIL,
                "sg_event_id": "bounce-1",
                "delivery_id": str(rows["email"].id),
                "reason": f"550 5.1.1 <{ANN_EMAIL}>: Recipient address rejected",
                "type": "bounce",
            }
        ]
    )
    events = "/webhooks/sendgrid/events"
    answer = await web.post(events, data=bounce, headers=sendgrid_signed(signing_key, bounce))
    assert answer.status == 204
    stop = {"From": SIGNUP_E164, "To": FROM_NUMBER, "Body": "STOP"}
    answer = await web.post(
        inbound, data=stop, headers=twilio_signed(providers.twilio, inbound, stop)
    )
    assert answer.status == 200

    # The resolution: Ann's email is suppressed now, the sign-up's number opted out.
    await post(
        web,
        f"/api/v1/incidents/{incident['id']}/updates",
        {"status": "resolved", "body": "Fixed."},
        admin,
    )
    await until(lambda: settled(sessions, 2), "the resolution's deliveries")

    # Asked how well we kept them informed (the rating tick, run here), Ann answers 4.
    texts = len(providers.twilio.requests)
    prompts = await tick(web_settings, sessions)
    assert prompts >= 1
    await until(lambda: _true(len(providers.twilio.requests) > texts), "the rating prompt")
    assert providers.twilio.requests[-1].to == ANN_E164
    four = {"From": ANN_E164, "To": FROM_NUMBER, "Body": "4"}
    answer = await web.post(
        inbound, data=four, headers=twilio_signed(providers.twilio, inbound, four)
    )
    assert answer.status == 200
    async with sessions() as session:
        assert await session.scalar(select(Rating.score)) == 4
    await until(lambda: settled(sessions, 2 + prompts), "the prompts' deliveries")
    exposition = await (await web.get("/metrics")).text()
    worker.stop()

    web_lines = [caplog.text, *(r.getMessage() for r in caplog.records)]
    worker_lines = (await asyncio.to_thread(worker.log.read_text)).splitlines()
    assert len(worker_lines) > 20  # DEBUG: it said a good deal
    for line in worker_lines:  # one JSON object a line, every line
        assert json.loads(line)["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    assert leaks(web_lines) == []
    assert leaks(worker_lines) == []
    assert leaks([exposition]) == []

    # What the worker did, as the web process's /metrics shows it (its own files).
    # Email: the incident to both, the resolution and a prompt to the sign-up, Ann's
    # resolution suppressed (her bounce). SMS: the incident to both, the resolution and a
    # prompt to Ann; the number that said STOP is suppressed.
    assert samples(exposition, "forewarn_deliveries_total") == {
        (("channel", "email"), ("outcome", "sent")): 4,
        (("channel", "email"), ("outcome", "suppressed")): 1,
        (("channel", "sms"), ("outcome", "sent")): 4,
        (("channel", "sms"), ("outcome", "suppressed")): 1,
    }
    assert samples(exposition, "forewarn_provider_request_seconds_count") == {
        (("provider", "sendgrid"),): pytest.approx(len(providers.sendgrid.requests)),
        (("provider", "twilio"),): pytest.approx(len(providers.twilio.requests)),
    }
    assert samples(exposition, "forewarn_fanout_seconds_count") == {(): 2 + prompts}


async def _true(value: bool) -> bool:
    return value


def test_a_json_line_is_one_object_with_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "notifier.x", logging.ERROR, __file__, 1, "failed %d of %s", (3, "sms"), sys.exc_info()
        )
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    found = json.loads(line)
    assert (found["level"], found["logger"], found["message"]) == (
        "ERROR",
        "notifier.x",
        "failed 3 of sms",
    )
    assert "ValueError: boom" in found["exception"]
