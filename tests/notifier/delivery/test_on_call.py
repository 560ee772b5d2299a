"""Ops on call (``notifier/delivery/on_call.py``), driven by the worker's promise tick
with a controlled clock: the reminder ten minutes before a promised update is due (not
before, and once) by email and SMS (the dev outbox) and by a signed webhook to a real
loopback server, retried after a 503; and the alert of a broken promise."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.tables import OutboxMessage
from tests.conftest import Client, make_settings
from tests.workers.ticks import job_context
from workers import jobs

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
SECRET = "on-call-webhook-secret-for-tests"
OPS_EMAIL = "oncall@example.com"
OPS_NUMBER = "+819012345678"


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 first, then 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.refuse = 1
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        if self.refuse:
            self.refuse -= 1
            return web.Response(status=503)
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
    port = runner.addresses[0][1]
    found.url = f"http://127.0.0.1:{port}/hooks/forewarn"
    yield found
    await runner.cleanup()


@pytest.fixture
def settings(database_url: str, redis_url: str, receiver: Receiver) -> Settings:
    return make_settings(
        database_url,
        redis_url,
        on_call={
            "emails": OPS_EMAIL,
            "numbers": OPS_NUMBER,
            "webhook_url": receiver.url,
            "webhook_secret": SECRET,
        },
        delivery={"retry_base_seconds": 0.01},
    )


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


async def outbox(sessions: Sessions) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(r.channel, r.to, r.subject or r.body) for r in rows]


async def tick(settings: Settings, sessions: Sessions) -> tuple[int, int, int]:
    async with job_context(settings, sessions) as ctx:
        return await jobs.promise_tick(ctx)


async def open_incident(client: Client, admin: dict[str, str], **fields: Any) -> str:
    body = {"title": "Checkout is failing", "body": "Looking into it.", **fields}
    response = await client.post("/api/v1/incidents", json=body, headers=admin)
    assert response.status == 201, await response.text()
    ident: str = (await response.json())["id"]
    return ident


async def test_ops_are_reminded_ten_minutes_before_the_promised_update_once(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
    receiver: Receiver,
) -> None:
    due = T0 + timedelta(minutes=40)
    ident = await open_incident(client, admin, impact="minor", next_update_by=due.isoformat())

    clock.move_to(due - timedelta(minutes=10, seconds=30))
    assert await tick(settings, sessions) == (0, 0, 0)
    assert await outbox(sessions) == []
    assert receiver.requests == []

    clock.move_to(due - timedelta(minutes=10))
    assert await tick(settings, sessions) == (0, 0, 1)
    clock.move_to(due - timedelta(minutes=9))
    assert await tick(settings, sessions) == (0, 0, 0)  # once

    sent = await outbox(sessions)
    assert sent == [
        ("email", OPS_EMAIL, "[Test status] Update due by 09:40 UTC: Checkout is failing"),
        ("sms", OPS_NUMBER, sent[1][2]),
    ]
    assert "due by 09:40 UTC" in sent[1][2]
    assert f"http://status.test/incidents/{ident}" in sent[1][2]
    # The webhook: refused once with 503, then delivered, the same signed body both times.
    assert len(receiver.requests) == 2
    (_, first_body), (headers, body) = receiver.requests
    assert first_body == body
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Forewarn-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["type"] == "promise.reminder"
    assert datetime.fromisoformat(event["due_at"]) == due
    assert event["incident"]["id"] == ident
    assert event["incident"]["title"] == "Checkout is failing"
    shown = await (await client.get(f"/api/v1/incidents/{ident}", headers=admin)).json()
    assert datetime.fromisoformat(shown["promises"][0]["reminded_at"]) == due - timedelta(
        minutes=10
    )


async def test_a_broken_promise_alerts_ops_with_the_count(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
    receiver: Receiver,
) -> None:
    receiver.refuse = 0
    ident = await open_incident(client, admin, impact="critical")
    # The worker was down through the reminder's minute: only the broken alert goes.
    clock.move_to(T0 + timedelta(minutes=31))

    assert await tick(settings, sessions) == (0, 1, 0)

    subjects = [s for _, _, s in await outbox(sessions)]
    assert subjects[0] == "[Test status] Promise broken: Checkout is failing"
    [(_, body)] = receiver.requests
    event = json.loads(body)
    assert (event["type"], event["broken_promises"]) == ("promise.broken", 1)
    assert event["id"].endswith("-broken")
    shown = await (await client.get(f"/api/v1/incidents/{ident}", headers=admin)).json()
    assert shown["broken_promises"] == 1


async def test_a_kept_promise_sends_nothing(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
    receiver: Receiver,
) -> None:
    ident = await open_incident(client, admin, impact="critical")
    clock.move_to(T0 + timedelta(minutes=15))
    await client.post(f"/api/v1/incidents/{ident}/resolve", json={"body": "Fixed."}, headers=admin)

    for minutes in (20, 31, 60):
        clock.move_to(T0 + timedelta(minutes=minutes))
        assert await tick(settings, sessions) == (0, 0, 0)
    assert await outbox(sessions) == []
    assert receiver.requests == []
