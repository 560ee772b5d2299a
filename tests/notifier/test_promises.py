"""Promised next updates (``notifier/promises.py``) with a controlled clock: the default
cadence by impact, kept by an update in time, broken and counted when the time passes,
withdrawn or moved by PATCH; and the automatic holding update (``notifier/holding.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.delivery import messages
from notifier.tables import Notification
from tests.conftest import Client, make_settings
from tests.workers.ticks import job_context
from workers import jobs

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo")


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def open_incident(client: Client, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Checkout is failing", "body": "We are looking into it.", **fields}
    response = await client.post("/api/v1/incidents", json=body, headers=admin)
    assert response.status == 201, await response.text()
    incident: dict[str, Any] = await response.json()
    return incident


async def fetch(client: Client, admin: dict[str, str], ident: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{ident}", headers=admin)
    assert response.status == 200
    incident: dict[str, Any] = await response.json()
    return incident


async def tick(settings: Settings, sessions: Sessions) -> tuple[int, int, int]:
    async with job_context(settings, sessions) as ctx:
        return await jobs.promise_tick(ctx)


@pytest.mark.parametrize(
    ("impact", "minutes"), [("critical", 30), ("major", 60), ("minor", None), ("none", None)]
)
async def test_an_update_without_a_time_promises_the_next_by_its_impact(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
    impact: str,
    minutes: int | None,
) -> None:
    incident = await open_incident(client, admin, impact=impact)

    if minutes is None:
        assert incident["next_update_by"] is None
        assert incident["promises"] == []
        return
    due = T0 + timedelta(minutes=minutes)
    assert at(incident["next_update_by"]) == due
    assert at(incident["updates"][0]["next_update_by"]) == due
    assert [(at(p["due_at"]), p["state"]) for p in incident["promises"]] == [(due, "open")]
    # The page and the message both show the defaulted promise, in the page's zone.
    page = await (await client.get(f"/incidents/{incident['id']}")).text()
    assert f"{due.astimezone(TOKYO):%H:%M} JST" in page
    async with sessions() as session:
        notification = await session.scalar(select(Notification))
        assert notification is not None
        said = await messages.context(session, notification, settings, "en")
    assert said["next_update_by"] == messages.when(due, "Asia/Tokyo", "en")


async def test_a_given_time_wins_over_the_cadence_and_resolving_promises_nothing(
    client: Client, admin: dict[str, str], clock: time_machine.Traveller
) -> None:
    promised = T0 + timedelta(minutes=12)
    incident = await open_incident(
        client, admin, impact="critical", next_update_by=promised.isoformat()
    )
    assert at(incident["next_update_by"]) == promised

    clock.move_to(T0 + timedelta(minutes=5))
    resolved = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin
    )

    body = await resolved.json()
    assert body["next_update_by"] is None
    assert [p["state"] for p in body["promises"]] == ["kept"]
    assert body["broken_promises"] == 0


async def test_an_update_in_time_keeps_the_promise_and_makes_the_next(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
) -> None:
    incident = await open_incident(client, admin, impact="critical")
    clock.move_to(T0 + timedelta(minutes=25))

    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "A bad deploy; rolling back."},
        headers=admin,
    )
    assert posted.status == 201
    clock.move_to(T0 + timedelta(minutes=31))
    assert await tick(settings, sessions) == (0, 0, 0)

    shown = await fetch(client, admin, incident["id"])
    assert [(p["state"], at(p["due_at"])) for p in shown["promises"]] == [
        ("kept", T0 + timedelta(minutes=30)),
        ("open", T0 + timedelta(minutes=55)),
    ]
    assert at(shown["promises"][0]["kept_at"]) == T0 + timedelta(minutes=25)
    assert shown["broken_promises"] == 0


async def test_a_promise_whose_time_passes_is_recorded_broken_and_counted(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
) -> None:
    incident = await open_incident(client, admin, impact="critical")
    clock.move_to(T0 + timedelta(minutes=29))
    assert (await tick(settings, sessions))[1] == 0

    clock.move_to(T0 + timedelta(minutes=30, seconds=40))
    assert (await tick(settings, sessions))[1] == 1
    assert (await tick(settings, sessions))[1] == 0  # recorded once

    shown = await fetch(client, admin, incident["id"])
    [promise] = shown["promises"]
    assert promise["state"] == "broken"
    assert at(promise["broken_at"]) == T0 + timedelta(minutes=30)
    assert shown["broken_promises"] == 1
    # A late update is no longer a kept promise; its own promise starts afresh.
    clock.move_to(T0 + timedelta(minutes=40))
    late = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "Found it."},
        headers=admin,
    )
    body = await late.json()
    assert [p["state"] for p in body["promises"]] == ["broken", "open"]
    assert body["broken_promises"] == 1


async def test_an_update_posted_late_before_the_worker_noticed_breaks_it_too(
    client: Client, admin: dict[str, str], clock: time_machine.Traveller
) -> None:
    incident = await open_incident(client, admin, impact="major")
    clock.move_to(T0 + timedelta(minutes=75))

    late = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "monitoring", "body": "Recovering."},
        headers=admin,
    )

    body = await late.json()
    assert [p["state"] for p in body["promises"]] == ["broken", "open"]
    assert at(body["promises"][0]["broken_at"]) == T0 + timedelta(minutes=60)
    assert body["broken_promises"] == 1


async def test_patching_the_time_moves_the_open_promise_and_null_withdraws_it(
    client: Client, admin: dict[str, str], clock: time_machine.Traveller
) -> None:
    incident = await open_incident(client, admin, impact="critical")
    later = T0 + timedelta(minutes=45)

    moved = await client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"next_update_by": later.isoformat()},
        headers=admin,
    )
    body = await moved.json()
    assert [(p["state"], at(p["due_at"])) for p in body["promises"]] == [("open", later)]

    withdrawn = await client.patch(
        f"/api/v1/incidents/{incident['id']}", json={"next_update_by": None}, headers=admin
    )
    assert (await withdrawn.json())["promises"] == []


async def test_the_holding_update_keeps_the_promise_and_promises_again(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    clock: time_machine.Traveller,
) -> None:
    holding = settings.model_copy(
        update={"promises": settings.promises.model_copy(update={"holding_update": True})}
    )
    incident = await open_incident(client, admin, impact="critical", status="identified")
    clock.move_to(T0 + timedelta(minutes=30, seconds=20))

    assert await tick(holding, sessions) == (1, 0, 0)
    assert await tick(holding, sessions) == (0, 0, 0)

    shown = await fetch(client, admin, incident["id"])
    latest = shown["updates"][0]
    now = T0 + timedelta(minutes=30, seconds=20)
    assert (latest["status"], latest["posted_by"]) == ("identified", "forewarn")
    assert latest["body"] == "We are still working on this. Next update by 19:00 JST."
    assert at(latest["next_update_by"]) == now + timedelta(minutes=30)
    assert [p["state"] for p in shown["promises"]] == ["kept", "open"]
    assert shown["broken_promises"] == 0
    async with sessions() as session:
        told = (await session.scalars(select(Notification.update_id))).all()
    assert latest["id"] in told  # subscribers hear it like any update
