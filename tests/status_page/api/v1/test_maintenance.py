from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import Base
from notifier.tables import (
    AuditEntry,
    ComponentStatusChange,
    Incident,
    IncidentComponent,
    IncidentUpdate,
)
from tests.conftest import Client, KeyFactory

Sessions = async_sessionmaker[AsyncSession]


def hours(n: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=n)).replace(microsecond=0)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def new_component(client: Client, admin: dict[str, str], name: str) -> str:
    response = await client.post("/api/v1/components", json={"name": name}, headers=admin)
    assert response.status == 201
    ident: str = (await response.json())["id"]
    return ident


async def schedule(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Database upgrade",
        "body": "We are upgrading the database; checkout may be slow.",
        "scheduled_for": hours(1).isoformat(),
        "scheduled_until": hours(2).isoformat(),
        **fields,
    }
    response = await client.post("/api/v1/maintenance", json=body, headers=headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def patch(
    client: Client, admin: dict[str, str], maintenance_id: str, **fields: Any
) -> dict[str, Any]:
    response = await client.patch(
        f"/api/v1/maintenance/{maintenance_id}", json=fields, headers=admin
    )
    assert response.status == 200, await response.text()
    changed: dict[str, Any] = await response.json()
    return changed


async def component_statuses(client: Client, admin: dict[str, str]) -> dict[str, str]:
    listed = await (await client.get("/api/v1/components", headers=admin)).json()
    return {c["id"]: c["status"] for c in listed["data"]}


async def counts(sessions: Sessions) -> dict[str, int]:
    tables: list[type[Base]] = [
        Incident,
        IncidentUpdate,
        IncidentComponent,
        ComponentStatusChange,
        AuditEntry,
    ]
    result = {}
    async with sessions() as session:
        for table in tables:
            result[table.__tablename__] = (
                await session.scalar(select(func.count()).select_from(table)) or 0
            )
    return result


def problem_fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


# Creating and reading


async def test_it_schedules_maintenance_without_touching_components_yet(
    client: Client, admin: dict[str, str]
) -> None:
    db = await new_component(client, admin, "Database")
    other = await new_component(client, admin, "Website")
    start, end = hours(24), hours(26)

    created = await client.post(
        "/api/v1/maintenance",
        json={
            "title": "Database upgrade",
            "body": "Checkout may be slow.",
            "scheduled_for": start.isoformat(),
            "scheduled_until": end.isoformat(),
            "components": [db],
        },
        headers=admin,
    )

    assert created.status == 201
    maintenance = await created.json()
    assert maintenance["status"] == "scheduled"
    assert at(maintenance["scheduled_for"]) == start
    assert at(maintenance["scheduled_until"]) == end
    assert at(maintenance["started_at"]) == start
    assert maintenance["resolved_at"] is None
    assert maintenance["auto_transition"] is True
    assert [(c["component_id"], c["status"]) for c in maintenance["components"]] == [
        (db, "under_maintenance")
    ]
    assert [(u["status"], u["body"], u["posted_by"]) for u in maintenance["updates"]] == [
        ("scheduled", "Checkout may be slow.", "ops admin")
    ]
    assert await component_statuses(client, admin) == {db: "operational", other: "operational"}

    got = await client.get(f"/api/v1/maintenance/{maintenance['id']}", headers=admin)
    assert got.status == 200
    assert await got.json() == maintenance
    html = await (await client.get("/")).text()
    assert "Database upgrade" in html
    assert "All Systems Operational" in html


async def test_it_refuses_a_window_that_ends_before_it_starts(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    before = await counts(sessions)
    start = hours(5)

    for until in [start, start - timedelta(minutes=1)]:
        response = await client.post(
            "/api/v1/maintenance",
            json={
                "title": "Backwards",
                "body": "x",
                "scheduled_for": start.isoformat(),
                "scheduled_until": until.isoformat(),
            },
            headers=admin,
        )
        assert response.status == 422
        assert response.content_type == "application/problem+json"
        assert problem_fields(await response.json()) == ["scheduled_until"]

    assert await counts(sessions) == before


async def test_it_names_the_failing_field_and_schedules_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    db = await new_component(client, admin, "Database")
    good = {
        "title": "T",
        "body": "x",
        "scheduled_for": hours(1).isoformat(),
        "scheduled_until": hours(2).isoformat(),
    }
    before = await counts(sessions)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({**good, "title": ""}, ["title"]),
        ({k: v for k, v in good.items() if k != "scheduled_for"}, ["scheduled_for"]),
        ({**good, "scheduled_until": "2030-01-01T10:00:00"}, ["scheduled_until"]),
        ({**good, "status": "in_progress"}, ["status"]),
    ]

    for body, fields in cases:
        response = await client.post("/api/v1/maintenance", json=body, headers=admin)
        assert response.status == 422, body
        assert problem_fields(await response.json()) == fields, body
    unknown = await client.post(
        "/api/v1/maintenance", json={**good, "components": [db, "nosuchcomponent"]}, headers=admin
    )
    # A reference to nothing is a 404 naming the field (Stripe's resource_missing).
    assert unknown.status == 404
    assert problem_fields(await unknown.json()) == ["components[1]"]

    assert await counts(sessions) == before


async def test_it_answers_404_for_unknown_maintenance(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await client.post(
        "/api/v1/incidents", json={"title": "Not maintenance", "body": "x"}, headers=admin
    )
    incident_id = (await incident.json())["id"]

    for ident in ["nosuchthing", incident_id]:
        for response in [
            await client.get(f"/api/v1/maintenance/{ident}", headers=admin),
            await client.patch(f"/api/v1/maintenance/{ident}", json={"title": "x"}, headers=admin),
            await client.post(f"/api/v1/maintenance/{ident}/cancel", json={}, headers=admin),
        ]:
            assert response.status == 404
            assert response.content_type == "application/problem+json"


async def test_it_lists_maintenance_newest_first_filtered_and_paged(
    client: Client, admin: dict[str, str]
) -> None:
    created = [(await schedule(client, admin, title=f"Window {n}"))["id"] for n in range(5)]
    await patch(client, admin, created[1], status="in_progress")
    cancelled = await client.post(
        f"/api/v1/maintenance/{created[3]}/cancel", json={}, headers=admin
    )
    assert cancelled.status == 200
    await client.post(
        "/api/v1/incidents", json={"title": "An incident", "body": "x"}, headers=admin
    )

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"/api/v1/maintenance?{query}", headers=admin)).json()
        seen += [m["id"] for m in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(created))

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/api/v1/maintenance?{query}", headers=admin)
        assert response.status == 200
        return [m["id"] for m in (await response.json())["data"]]

    assert await ids("status=in_progress") == [created[1]]
    assert await ids("status=cancelled") == [created[3]]
    assert await ids("status=scheduled") == [created[4], created[2], created[0]]
    assert await ids("status=completed") == []
    bad = await client.get("/api/v1/maintenance?status=later", headers=admin)
    assert bad.status == 422
    assert problem_fields(await bad.json()) == ["status"]


# Changing and moving on


async def test_it_patches_the_window_and_title(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    maintenance = await schedule(client, admin)
    start, end = hours(48), hours(50)

    changed = await patch(
        client,
        admin,
        maintenance["id"],
        title="Database upgrade (moved)",
        scheduled_for=start.isoformat(),
        scheduled_until=end.isoformat(),
        auto_transition=False,
    )

    assert changed["title"] == "Database upgrade (moved)"
    assert (at(changed["scheduled_for"]), at(changed["scheduled_until"])) == (start, end)
    assert at(changed["started_at"]) == start
    assert changed["auto_transition"] is False
    assert changed["status"] == "scheduled"
    assert len(changed["updates"]) == 1
    fetched = await (
        await client.get(f"/api/v1/maintenance/{maintenance['id']}", headers=admin)
    ).json()
    assert fetched == changed
    async with sessions() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "maintenance.update")
        )
    assert entry is not None
    assert entry.target_id == maintenance["id"]


async def test_a_patch_with_a_body_posts_an_update(client: Client, admin: dict[str, str]) -> None:
    maintenance = await schedule(client, admin)

    changed = await patch(client, admin, maintenance["id"], body="Now with less downtime.")

    assert changed["status"] == "scheduled"
    assert [u["body"] for u in changed["updates"]] == [
        "Now with less downtime.",
        "We are upgrading the database; checkout may be slow.",
    ]


async def test_it_refuses_a_patched_window_that_ends_before_it_starts(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    maintenance = await schedule(client, admin)
    before = await counts(sessions)

    moved_start = await client.patch(
        f"/api/v1/maintenance/{maintenance['id']}",
        json={"scheduled_for": hours(3).isoformat(), "title": "Changed"},
        headers=admin,
    )
    both = await client.patch(
        f"/api/v1/maintenance/{maintenance['id']}",
        json={"scheduled_for": hours(3).isoformat(), "scheduled_until": hours(3).isoformat()},
        headers=admin,
    )

    # Sent together they contradict each other (422); one meets the record's other end (409).
    assert (moved_start.status, both.status) == (409, 422)
    for response in [moved_start, both]:
        assert problem_fields(await response.json()) == ["scheduled_until"]
    assert await counts(sessions) == before
    fetched = await (
        await client.get(f"/api/v1/maintenance/{maintenance['id']}", headers=admin)
    ).json()
    assert fetched == maintenance


async def test_it_refuses_to_blank_a_required_field_with_null(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    maintenance = await schedule(client, admin)
    before = await counts(sessions)

    for field in ["title", "scheduled_for", "scheduled_until", "auto_transition"]:
        response = await client.patch(
            f"/api/v1/maintenance/{maintenance['id']}", json={field: None}, headers=admin
        )
        assert response.status == 422, field
        assert problem_fields(await response.json()) == [field]

    assert await counts(sessions) == before


async def test_moving_on_puts_components_under_maintenance_and_back(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    db = await new_component(client, admin, "Database")
    other = await new_component(client, admin, "Website")
    maintenance = await schedule(client, admin, components=[db])

    started = await patch(client, admin, maintenance["id"], status="in_progress")

    assert started["status"] == "in_progress"
    assert at(started["started_at"]) == at(started["updates"][0]["created_at"])
    assert (started["updates"][0]["status"], started["updates"][0]["body"]) == (
        "in_progress",
        "Scheduled maintenance is now in progress.",
    )
    assert await component_statuses(client, admin) == {
        db: "under_maintenance",
        other: "operational",
    }
    html = await (await client.get("/")).text()
    assert "Service Under Maintenance" in html  # the banner: the legend names every status
    assert "in progress" in html

    verifying = await patch(
        client, admin, maintenance["id"], status="verifying", body="Checking everything."
    )

    assert verifying["status"] == "verifying"
    assert verifying["updates"][0]["body"] == "Checking everything."
    assert await component_statuses(client, admin) == {
        db: "under_maintenance",
        other: "operational",
    }

    completed = await patch(client, admin, maintenance["id"], status="completed")

    assert completed["status"] == "completed"
    assert completed["resolved_at"] is not None
    assert [u["status"] for u in completed["updates"]] == [
        "completed",
        "verifying",
        "in_progress",
        "scheduled",
    ]
    assert await component_statuses(client, admin) == {db: "operational", other: "operational"}
    async with sessions() as session:
        changes = (
            await session.execute(
                select(ComponentStatusChange.status, ComponentStatusChange.incident_id)
                .where(ComponentStatusChange.component_id == db)
                .order_by(ComponentStatusChange.id)
            )
        ).all()
    assert [tuple(row) for row in changes] == [
        ("operational", None),
        ("under_maintenance", maintenance["id"]),
        ("operational", maintenance["id"]),
    ]
    # No longer among the maintenance (the uptime bar below still lists it for today).
    assert "Database upgrade" not in (await (await client.get("/")).text()).split("Components")[0]


async def test_an_outage_outranks_maintenance_and_outlasts_it(
    client: Client, admin: dict[str, str]
) -> None:
    db = await new_component(client, admin, "Database")
    maintenance = await schedule(client, admin, components=[db])
    await patch(client, admin, maintenance["id"], status="in_progress")
    incident = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Upgrade went wrong",
            "body": "x",
            "components": [{"component_id": db, "status": "partial_outage"}],
        },
        headers=admin,
    )
    assert incident.status == 201
    assert await component_statuses(client, admin) == {db: "partial_outage"}

    await patch(client, admin, maintenance["id"], status="completed")

    assert await component_statuses(client, admin) == {db: "partial_outage"}


async def assert_conflict(
    client: Client,
    admin: dict[str, str],
    sessions: Sessions,
    maintenance_id: str,
    response_of: Any,
) -> None:
    before = await counts(sessions)
    shown = await (await client.get(f"/api/v1/maintenance/{maintenance_id}", headers=admin)).json()
    statuses = await component_statuses(client, admin)

    response = await response_of

    assert response.status == 409
    assert response.content_type == "application/problem+json"
    assert await counts(sessions) == before
    after = await (await client.get(f"/api/v1/maintenance/{maintenance_id}", headers=admin)).json()
    assert after == shown
    assert await component_statuses(client, admin) == statuses


async def test_it_refuses_to_move_a_maintenance_back(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    db = await new_component(client, admin, "Database")
    maintenance = await schedule(client, admin, components=[db])
    url = f"/api/v1/maintenance/{maintenance['id']}"
    await patch(client, admin, maintenance["id"], status="verifying")

    for status in ["scheduled", "in_progress"]:
        await assert_conflict(
            client,
            admin,
            sessions,
            maintenance["id"],
            client.patch(url, json={"status": status}, headers=admin),
        )


async def test_it_refuses_to_change_a_completed_maintenance(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    maintenance = await schedule(client, admin)
    url = f"/api/v1/maintenance/{maintenance['id']}"
    await patch(client, admin, maintenance["id"], status="completed")

    for body in [{"status": "in_progress"}, {"title": "Again"}, {"body": "One more thing."}]:
        await assert_conflict(
            client, admin, sessions, maintenance["id"], client.patch(url, json=body, headers=admin)
        )


async def test_it_refuses_to_cancel_through_patch(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    maintenance = await schedule(client, admin)

    await assert_conflict(
        client,
        admin,
        sessions,
        maintenance["id"],
        client.patch(
            f"/api/v1/maintenance/{maintenance['id']}",
            json={"status": "cancelled"},
            headers=admin,
        ),
    )


# Cancelling


async def test_it_cancels_a_scheduled_maintenance_and_hides_it_from_the_page(
    client: Client, admin: dict[str, str]
) -> None:
    db = await new_component(client, admin, "Database")
    maintenance = await schedule(client, admin, title="Network switch swap", components=[db])
    assert "Network switch swap" in await (await client.get("/")).text()

    cancelled = await client.post(
        f"/api/v1/maintenance/{maintenance['id']}/cancel",
        json={"body": "Postponed; a new date follows."},
        headers=admin,
    )

    assert cancelled.status == 200
    body = await cancelled.json()
    assert body["status"] == "cancelled"
    assert body["resolved_at"] is not None
    assert (body["updates"][0]["status"], body["updates"][0]["body"]) == (
        "cancelled",
        "Postponed; a new date follows.",
    )
    assert await component_statuses(client, admin) == {db: "operational"}
    assert "Network switch swap" not in await (await client.get("/")).text()


async def test_cancelling_uses_a_default_message(client: Client, admin: dict[str, str]) -> None:
    maintenance = await schedule(client, admin)

    cancelled = await client.post(
        f"/api/v1/maintenance/{maintenance['id']}/cancel", json={}, headers=admin
    )

    assert (await cancelled.json())["updates"][0]["body"] == "This maintenance has been cancelled."


async def test_it_cancels_only_scheduled_maintenance(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    db = await new_component(client, admin, "Database")
    running = await schedule(client, admin, components=[db])
    await patch(client, admin, running["id"], status="in_progress")
    done = await schedule(client, admin)
    await patch(client, admin, done["id"], status="completed")
    gone = await schedule(client, admin)
    await client.post(f"/api/v1/maintenance/{gone['id']}/cancel", json={}, headers=admin)

    for maintenance in [running, done, gone]:
        await assert_conflict(
            client,
            admin,
            sessions,
            maintenance["id"],
            client.post(f"/api/v1/maintenance/{maintenance['id']}/cancel", json={}, headers=admin),
        )
    assert await component_statuses(client, admin) == {db: "under_maintenance"}


# Scopes


async def test_a_read_key_reads_but_cannot_schedule_or_cancel(
    client: Client, admin: dict[str, str], make_key: KeyFactory, sessions: Sessions
) -> None:
    reader = await make_key("read")
    maintenance = await schedule(client, admin)
    before = await counts(sessions)

    listed = await client.get("/api/v1/maintenance", headers=reader)
    refused = [
        await client.post(
            "/api/v1/maintenance",
            json={
                "title": "T",
                "body": "x",
                "scheduled_for": hours(1).isoformat(),
                "scheduled_until": hours(2).isoformat(),
            },
            headers=reader,
        ),
        await client.patch(
            f"/api/v1/maintenance/{maintenance['id']}", json={"title": "x"}, headers=reader
        ),
        await client.post(
            f"/api/v1/maintenance/{maintenance['id']}/cancel", json={}, headers=reader
        ),
    ]

    assert listed.status == 200
    assert [m["id"] for m in (await listed.json())["data"]] == [maintenance["id"]]
    for response in refused:
        assert response.status == 403
        assert response.content_type == "application/problem+json"
    assert await counts(sessions) == before


async def test_an_incidents_key_schedules_maintenance(client: Client, make_key: KeyFactory) -> None:
    writer = await make_key("incidents:write", name="change bot")

    maintenance = await schedule(client, writer)

    assert maintenance["updates"][0]["posted_by"] == "change bot"
