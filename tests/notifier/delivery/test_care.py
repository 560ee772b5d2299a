"""The care policies end to end (``notifier.delivery.care``): the ops API, a real worker
and Redis, the Twilio and SendGrid fakes, and a controlled clock (time-machine)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import pytest
import time_machine
from arq import create_pool
from arq.constants import default_queue_name
from pytest_aiohttp import AiohttpClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import DeliverySettings, Settings
from notifier.delivery.jobs import redis_settings
from notifier.tables import Customer
from status_page import create_app
from tests import arq_workers
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.notifier.delivery.deliveries import with_delivery
from workers import create_worker

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]
EVERY_EVENT = "incident_created,incident_updated,incident_resolved"
# 23:30 in Tokyo.
NIGHT = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
MORNING = datetime(2026, 12, 1, 22, 0, 5, tzinfo=UTC)  # 07:00:05 in Tokyo
DAY = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # noon in Tokyo


# The windows as shipped (tests/conftest.py turns them off for every other test).
SHIPPED_WINDOWS = {
    name: DeliverySettings.model_fields[name].default
    for name in ("sms_window_minutes", "email_window_minutes")
}


@pytest.fixture
def shipped(provider_settings: Settings) -> Settings:
    return with_delivery(provider_settings, **SHIPPED_WINDOWS)


@pytest.fixture
def texting(shipped: Settings) -> Settings:
    return with_delivery(shipped, sms_events=EVERY_EVENT)


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, texting: Settings) -> Client:
    return await aiohttp_client(create_app(texting))


async def run_due(settings: Settings) -> None:
    """A real worker until no job is due now and none runs; held ones wait in Redis."""
    worker = create_worker(settings, settings.redis_url, poll_delay=0.01, cron_jobs=[])
    pool = await create_pool(redis_settings(settings.redis_url))
    task = asyncio.create_task(worker.async_run())
    try:
        idle = 0
        for _ in range(1000):
            await asyncio.sleep(0.02)
            due = await pool.zcount(default_queue_name, "-inf", time.time() * 1000)
            idle = idle + 1 if not due and not worker.job_counter else 0
            if idle >= 5:
                return
        raise AssertionError("the worker never went idle")
    finally:
        await arq_workers.stop(worker, task)
        await pool.aclose()


async def subscriber(
    api: Client,
    admin: Headers,
    sessions: Sessions,
    *,
    quiet: bool = True,
    email: bool = False,
    **body: Any,
) -> None:
    contact = {"email": "taro@example.com"} if email else {"phone": "+81 90 1234 5678"}
    response = await api.put(
        "/api/v1/customers/taro",
        json={
            **contact,
            "time_zone": "Asia/Tokyo",
            "consent": {"channels": ["email" if email else "sms"], "legal_basis": "contract"},
            "follows": {"page": True},
            **body,
        },
        headers=admin,
    )
    assert response.status == 201, await response.text()
    if quiet:  # set on the manage page; here straight in the row
        async with sessions() as session, session.begin():
            await session.execute(
                update(Customer).values(quiet_hours_start=clock(22), quiet_hours_end=clock(7))
            )


async def post(api: Client, admin: Headers, path: str, **body: Any) -> str:
    response = await api.post(path, json=body, headers=admin)
    assert response.status in (200, 201), await response.text()
    found: str = (await response.json())["id"]
    return found


async def counts(api: Client, admin: Headers, incident_id: str) -> list[dict[str, Any]]:
    listed = await api.get(f"/api/v1/subjects/{incident_id}/notifications", headers=admin)
    return [n["deliveries"] for n in (await listed.json())["data"]]


def texts(twilio: FakeTwilio) -> list[str]:
    return [r.form["Body"] for r in twilio.requests if r.sid]


async def test_a_night_update_is_held_and_arrives_once_at_seven_with_the_latest_state(
    api: Client, admin: Headers, texting: Settings, twilio: FakeTwilio, sessions: Sessions
) -> None:
    with time_machine.travel(NIGHT):
        await subscriber(api, admin, sessions)
        incident = await post(
            api, admin, "/api/v1/incidents", title="Slow pages", body="Pages load slowly."
        )
        await run_due(texting)
        assert texts(twilio) == []
        assert await counts(api, admin, incident) == [{"sms": {"held": 1}}]
    for hour, words in ((16, "We found the cause."), (18, "A fix is being deployed.")):
        with time_machine.travel(NIGHT.replace(hour=hour)):
            path = f"/api/v1/incidents/{incident}/updates"
            await post(api, admin, path, status="identified", body=words)
            await run_due(texting)
    assert texts(twilio) == []

    with time_machine.travel(MORNING):
        await run_due(texting)
    [text] = texts(twilio)
    assert "A fix is being deployed." in text
    assert await counts(api, admin, incident) == [
        {"sms": {"sent": 1}},
        {"sms": {"folded": 1}},
        {"sms": {"folded": 1}},
    ]


async def test_a_critical_update_breaks_through_quiet_hours(
    api: Client, admin: Headers, texting: Settings, twilio: FakeTwilio, sessions: Sessions
) -> None:
    with time_machine.travel(NIGHT):
        await subscriber(api, admin, sessions)
        await post(
            api, admin, "/api/v1/incidents", title="Down", body="Nothing works.", impact="critical"
        )
        await post(api, admin, "/api/v1/incidents", title="Slow", body="Slow.", urgent=True)
        await run_due(texting)
    assert len(texts(twilio)) == 2


async def test_five_updates_in_three_minutes_become_at_most_two_texts(
    api: Client, admin: Headers, texting: Settings, twilio: FakeTwilio, sessions: Sessions
) -> None:
    with time_machine.travel(DAY):
        await subscriber(api, admin, sessions)
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Update 1")
        await run_due(texting)
    for n in range(2, 6):
        with time_machine.travel(DAY + timedelta(seconds=45 * (n - 1))):
            path = f"/api/v1/incidents/{incident}/updates"
            await post(api, admin, path, status="identified", body=f"Update {n}")
            await run_due(texting)
    assert len(texts(twilio)) == 1
    with time_machine.travel(DAY + timedelta(minutes=15, seconds=5)):
        await run_due(texting)
    sent = texts(twilio)
    assert len(sent) == 2
    assert "Update 5" in sent[1]


async def test_a_resolution_goes_inside_the_window(
    api: Client, admin: Headers, texting: Settings, twilio: FakeTwilio, sessions: Sessions
) -> None:
    with time_machine.travel(DAY):
        await subscriber(api, admin, sessions)
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Looking.")
        await run_due(texting)
    with time_machine.travel(DAY + timedelta(minutes=1)):
        await post(api, admin, f"/api/v1/incidents/{incident}/resolve", body="Fixed.")
        await run_due(texting)
    assert len(texts(twilio)) == 2


async def test_emails_have_their_own_window(
    api: Client, admin: Headers, texting: Settings, sendgrid: FakeSendGrid, sessions: Sessions
) -> None:
    with time_machine.travel(DAY):
        await subscriber(api, admin, sessions, email=True)
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Update 1")
        await run_due(texting)
    for n in (2, 3):
        with time_machine.travel(DAY + timedelta(minutes=n)):
            path = f"/api/v1/incidents/{incident}/updates"
            await post(api, admin, path, status="identified", body=f"Update {n}")
            await run_due(texting)
    assert len([r for r in sendgrid.requests if r.message_id]) == 1
    with time_machine.travel(DAY + timedelta(minutes=5, seconds=5)):
        await run_due(texting)
    sent = [r for r in sendgrid.requests if r.message_id]
    assert len(sent) == 2
    assert "Update 3" in str(sent[1].body)


async def test_only_the_pages_sms_events_go_by_text(
    aiohttp_client: AiohttpClient,
    admin: Headers,
    shipped: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    api = await aiohttp_client(create_app(shipped))
    with time_machine.travel(DAY):
        await subscriber(api, admin, sessions, quiet=False)
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Looking.")
        path = f"/api/v1/incidents/{incident}/updates"
        await post(api, admin, path, status="identified", body="Found it.", urgent=True)
        await run_due(shipped)
    [text] = texts(twilio)
    assert "Looking." in text
    assert (await counts(api, admin, incident))[0] == {}


async def test_a_subject_resolved_before_morning_is_not_told_to_who_asked_only_while_unresolved(
    api: Client, admin: Headers, texting: Settings, twilio: FakeTwilio, sessions: Sessions
) -> None:
    with time_machine.travel(NIGHT):
        await subscriber(api, admin, sessions, only_unresolved=True)
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Looking.")
        await run_due(texting)
    with time_machine.travel(NIGHT + timedelta(hours=1)):
        await post(api, admin, f"/api/v1/incidents/{incident}/resolve", body="Fixed.")
        await run_due(texting)
    with time_machine.travel(MORNING):
        await run_due(texting)
    assert texts(twilio) == []
    assert await counts(api, admin, incident) == [{"sms": {"folded": 1}}, {"sms": {"folded": 1}}]
