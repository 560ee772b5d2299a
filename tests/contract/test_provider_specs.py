"""Our real SendGrid and Twilio requests against mocks built from the providers' own specs.

Stoplight Prism serves ``tests/contract/specs/sendgrid_v3.json`` and
``tests/contract/specs/twilio_api_v2010.json`` (the providers' documents, trimmed to
the operations we call; see the README there) and refuses any request that breaks
them: SendGrid with 400, Twilio with 422. The positive tests send what
``SendGridEmail`` and ``TwilioSms`` really send; the negative controls show that
Prism does validate, so an accepted request means something.

Prism is the repository's own ``node_modules/.bin/prism``, pinned in ``package.json``
and ``package-lock.json``; ``make test`` installs it (``npm ci``). Without Node.js or
Prism these tests fail, they are never skipped.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
import redis.asyncio

from config import Settings
from notifier.delivery import messages, rendering
from notifier.delivery.channels.base import Content, DeliveryError, Recipient, Sent
from notifier.delivery.channels.email import SendGridEmail
from notifier.delivery.channels.sms import TwilioSms
from notifier.delivery.ratelimit import SharedRateLimit
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]
SPECS = Path(__file__).resolve().parent / "specs"
PRISM = REPO / "node_modules" / ".bin" / "prism"
START_SECONDS = 120.0
STOP_SECONDS = 15.0


# --- Prism, started once for the session -----------------------------------------------


@dataclass(frozen=True)
class Mocks:
    sendgrid_url: str
    twilio_url: str


@dataclass
class _Mock:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-20:])


def _prism() -> Path:
    if shutil.which("node") is None:
        pytest.fail("contract tests need Node.js on PATH to run Stoplight Prism", pytrace=False)
    if not PRISM.exists():
        pytest.fail(
            f"Stoplight Prism is missing at {PRISM}: `make test` installs it (npm ci)",
            pytrace=False,
        )
    return PRISM


def _spec(name: str) -> Path:
    path = SPECS / name
    if not path.is_file():
        pytest.fail(
            f"provider spec {path} is missing (see tests/contract/specs/README.md)",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _start(prism: Path, name: str, spec: Path, log: Path, out: IO[bytes]) -> _Mock:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603  (our own bin and arguments, no shell)
        [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    return _Mock(name, port, process, log)


def _wait_listening(mock: _Mock, deadline: float) -> None:
    while not _listening(mock.port):
        if mock.process.poll() is not None:
            pytest.fail(
                f"Prism ({mock.name}) exited with {mock.process.returncode}:\n{mock.tail()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"Prism ({mock.name}) not listening after {START_SECONDS}s:\n{mock.tail()}",
                pytrace=False,
            )
        time.sleep(0.2)


def _stop(mock: _Mock) -> None:
    mock.process.terminate()
    try:
        mock.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        mock.process.kill()
        mock.process.wait(timeout=STOP_SECONDS)


def _wait_port_free(mock: _Mock) -> None:
    deadline = time.monotonic() + STOP_SECONDS
    while _listening(mock.port):
        if time.monotonic() > deadline:
            pytest.fail(f"port {mock.port} still served after Prism ({mock.name}) stopped")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mocks]:
    """Both Prism mocks, started in parallel; stopped (and their ports checked) at the end."""
    specs = {"sendgrid": _spec("sendgrid_v3.json"), "twilio": _spec("twilio_api_v2010.json")}
    binary = _prism()
    logs = tmp_path_factory.mktemp("prism")
    started: list[_Mock] = []
    with contextlib.ExitStack() as files:
        try:
            for name, spec in specs.items():
                log = logs / f"{name}.log"
                out = files.enter_context(log.open("wb"))
                started.append(_start(binary, name, spec, log, out))
            deadline = time.monotonic() + START_SECONDS
            for mock in started:
                _wait_listening(mock, deadline)
            yield Mocks(sendgrid_url=started[0].url, twilio_url=started[1].url)
        finally:
            for mock in started:
                _stop(mock)
            for mock in started:
                _wait_port_free(mock)


# --- our channels, pointed at the mocks -------------------------------------------------

ACCOUNT_SID = "AC" + secrets.token_hex(16)
SERVICE_SID = "MG" + secrets.token_hex(16)


def provider_settings(mocks: Mocks, database_url: str, redis_url: str, **twilio: str) -> Settings:
    return make_settings(
        database_url,
        redis_url,
        sendgrid={
            "api_key": "SG.contract-" + secrets.token_urlsafe(12),
            "from_email": "status@example.com",
            "base_url": mocks.sendgrid_url,
        },
        twilio={
            "account_sid": ACCOUNT_SID,
            "auth_token": secrets.token_hex(16),
            "base_url": mocks.twilio_url,
            **twilio,
        },
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def rate_redis(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def email_channel(settings: Settings, http: aiohttp.ClientSession) -> SendGridEmail:
    return SendGridEmail(settings.sendgrid, http, from_name=settings.page_name, timeout=30)


@contextlib.asynccontextmanager
async def sms_channel(settings: Settings, client: redis.asyncio.Redis) -> AsyncIterator[TwilioSms]:
    sms = TwilioSms(
        settings.twilio,
        status_callback="http://status.test/webhooks/twilio/status",
        limit=SharedRateLimit(client, "sms:contract", per_second=1000),
        timeout=30,
        concurrency=4,
    )
    try:
        yield sms
    finally:
        await sms.close()


def incident_context(locale: str) -> dict[str, Any]:
    if locale == "ja":
        return {
            "page_name": "テスト株式会社",
            "url": "http://status.test/",
            "title": "決済エラーの発生",
            "status_label": messages.STATUS_LABELS["ja"]["identified"],
            "body": (
                "一部のお客様で決済が完了しない事象が発生しています。原因を特定し、対応中です。"
            ),
            "body_short": "一部のお客様で決済が完了しない事象が発生しています。",
            "components": ["決済", "API"],
            "next_update_by": "11月23日 15:30 JST",
        }
    return {
        "page_name": "Test status",
        "url": "http://status.test/",
        "title": "Checkout errors",
        "status_label": messages.STATUS_LABELS["en"]["identified"],
        "body": "Some card payments fail at checkout. We have found the cause and are fixing it.",
        "body_short": "Some card payments fail at checkout.",
        "components": ["Checkout", "API"],
        "next_update_by": "Nov 23, 15:30 UTC",
    }


def recipients(locale: str, addresses: list[str]) -> list[Recipient]:
    names = ["山田 花子", "Sam O'Neil", None] if locale == "ja" else ["Sam O'Neil", "Ana", None]
    return [
        Recipient(
            delivery_id=i + 1,
            address=address,
            values={
                "greeting": messages.greeting(locale, names[i % len(names)], None),
                "unsubscribe_url": f"http://status.test/unsubscribe/{secrets.token_urlsafe(16)}",
                "url": "http://status.test/",
            },
        )
        for i, address in enumerate(addresses)
    ]


# --- SendGrid ---------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ja"])
async def test_sendgrid_accepts_our_email_batch(
    prism: Mocks, database_url: str, redis_url: str, http: aiohttp.ClientSession, locale: str
) -> None:
    settings = provider_settings(prism, database_url, redis_url)
    channel = email_channel(settings, http)
    content = rendering.render("incident_updated", "email", locale, incident_context(locale))
    batch = recipients(locale, [f"person{i}@example.com" for i in range(5)])

    body = channel.body(content, batch)
    assert [p["headers"]["List-Unsubscribe-Post"] for p in body["personalizations"]] == [
        "List-Unsubscribe=One-Click"
    ] * 5
    assert all(
        p["headers"]["List-Unsubscribe"].startswith("<http") for p in body["personalizations"]
    )

    outcomes = await channel.send(content, batch)

    assert len(outcomes) == 5
    assert all(isinstance(o, Sent) for o in outcomes), outcomes


async def test_sendgrid_accepts_a_delivery_problem_email(
    prism: Mocks, database_url: str, redis_url: str, http: aiohttp.ClientSession
) -> None:
    settings = provider_settings(prism, database_url, redis_url)
    context = {
        "page_name": "Test status",
        "url": "http://status.test/",
        "reference": "Order 12345",
        "title": "Parcel delayed",
        "body": "Your parcel is delayed by the storm.",
        "body_short": "Your parcel is delayed by the storm.",
        "kind": "delayed",
        "status": "open",
        "eta": "Nov 25, 12:00 UTC",
    }
    content = rendering.render("problem_opened", "email", "en", context)

    outcomes = await email_channel(settings, http).send(
        content, recipients("en", ["customer@example.com"])
    )

    assert outcomes == [Sent(provider_id="")]


async def test_sendgrid_mock_rejects_a_malformed_body(
    prism: Mocks, http: aiohttp.ClientSession
) -> None:
    """The negative control: Prism does hold requests to the spec."""
    body = {"personalizations": {"to": "person@example.com"}, "subject": "No sender"}

    async with http.post(
        prism.sendgrid_url + "/v3/mail/send",
        json=body,
        headers={"Authorization": "Bearer SG.contract"},
    ) as response:
        assert response.status == 400
        violations = response.headers.get("sl-violations", "")

    assert "'from'" in violations
    assert "personalizations must be array" in violations


async def test_an_address_sendgrid_refuses_is_a_permanent_failure(
    prism: Mocks, database_url: str, redis_url: str, http: aiohttp.ClientSession
) -> None:
    settings = provider_settings(prism, database_url, redis_url)
    content = rendering.render("incident_updated", "email", "en", incident_context("en"))

    outcomes = await email_channel(settings, http).send(
        content, recipients("en", ["not-an-email-address"])
    )

    assert len(outcomes) == 1
    assert isinstance(outcomes[0], DeliveryError)
    assert outcomes[0].permanent
    assert "400" in outcomes[0].reason


# --- Twilio -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [{"from_number": "+15005550006"}, {"messaging_service_sid": SERVICE_SID}],
    ids=["from", "messaging_service"],
)
# English fits one GSM-7 segment; Japanese is UCS-2 (67 characters a part): two.
@pytest.mark.parametrize(("locale", "segments"), [("en", 1), ("ja", 2)])
async def test_twilio_accepts_our_sms(
    prism: Mocks,
    database_url: str,
    redis_url: str,
    rate_redis: redis.asyncio.Redis,
    sender: dict[str, str],
    locale: str,
    segments: int,
) -> None:
    settings = provider_settings(prism, database_url, redis_url, **sender)
    content = rendering.render("incident_updated", "sms", locale, incident_context(locale))

    async with sms_channel(settings, rate_redis) as sms:
        outcomes = await sms.send(content, recipients(locale, ["+14155550100", "+819012345678"]))

    assert len(outcomes) == 2
    for outcome in outcomes:
        # Prism answered 201 with the spec's example and its sid was read.
        assert isinstance(outcome, Sent), outcome
        assert outcome.provider_id.startswith("SM")
        assert outcome.segments == segments


async def test_twilio_mock_rejects_a_malformed_messaging_service_sid(
    prism: Mocks, database_url: str, redis_url: str, rate_redis: redis.asyncio.Redis
) -> None:
    """The negative control: a sender the spec does not allow is refused (422)."""
    settings = provider_settings(
        prism, database_url, redis_url, messaging_service_sid="not-a-service-sid"
    )
    content = Content(subject="", text="Checkout errors: identified.")

    async with sms_channel(settings, rate_redis) as sms:
        outcomes = await sms.send(content, recipients("en", ["+14155550100"]))

    assert len(outcomes) == 1
    assert isinstance(outcomes[0], DeliveryError)
    assert outcomes[0].reason == "Twilio error 422"
