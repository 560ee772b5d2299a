from __future__ import annotations

import base64
import json
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


async def new_component(client: Client, admin: dict[str, str], name: str, position: int = 0) -> str:
    response = await client.post(
        "/api/v1/components", json={"name": name, "position": position}, headers=admin
    )
    assert response.status == 201
    ident: str = (await response.json())["id"]
    return ident


async def open_incident(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Checkout is failing", "body": "We are looking into it.", **fields}
    response = await client.post("/api/v1/incidents", json=body, headers=headers)
    assert response.status == 201, await response.text()
    incident: dict[str, Any] = await response.json()
    return incident


async def component_statuses(client: Client, admin: dict[str, str]) -> dict[str, str]:
    listed = await (await client.get("/api/v1/components", headers=admin)).json()
    return {c["id"]: c["status"] for c in listed["data"]}


async def history(sessions: Sessions, component_id: str) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(ComponentStatusChange.status, ComponentStatusChange.incident_id)
            .where(ComponentStatusChange.component_id == component_id)
            .order_by(ComponentStatusChange.id)
        )
        return [(status, incident_id) for status, incident_id in rows]


async def count(sessions: Sessions, table: type[Base]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def counts(sessions: Sessions) -> dict[str, int]:
    tables: list[type[Base]] = [
        Incident,
        IncidentUpdate,
        IncidentComponent,
        ComponentStatusChange,
        AuditEntry,
    ]
    return {table.__tablename__: await count(sessions, table) for table in tables}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def soon(minutes: int = 30) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def forged_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def problem_fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


# Creating


async def test_it_opens_an_incident_with_its_first_update_and_affected_components(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API", position=1)
    web = await new_component(client, admin, "Website", position=2)
    untouched = await new_component(client, admin, "Email", position=3)
    promise = soon()

    created = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout is failing",
            "body": "We are **investigating** failed card payments.",
            "impact": "major",
            "components": [
                {"component_id": web, "status": "degraded_performance"},
                {"component_id": api, "status": "major_outage"},
            ],
            "next_update_by": promise.isoformat(),
        },
        headers=admin,
    )

    assert created.status == 201
    assert created.content_type == "application/json"
    incident = await created.json()
    assert incident["title"] == "Checkout is failing"
    assert incident["status"] == "investigating"
    assert incident["impact"] == "major"
    assert incident["public"] is True
    assert incident["resolved_at"] is None
    assert incident["monitoring_at"] is None
    assert at(incident["next_update_by"]) == promise
    assert [(c["component_id"], c["name"], c["status"]) for c in incident["components"]] == [
        (api, "API", "major_outage"),
        (web, "Website", "degraded_performance"),
    ]
    [update] = incident["updates"]
    assert update["status"] == "investigating"
    assert update["body"] == "We are **investigating** failed card payments."
    assert update["posted_by"] == "ops admin"
    assert at(update["next_update_by"]) == promise
    assert {
        (c["code"], c["old_status"], c["new_status"]) for c in update["affected_components"]
    } == {
        (api, "operational", "major_outage"),
        (web, "operational", "degraded_performance"),
    }

    assert await component_statuses(client, admin) == {
        api: "major_outage",
        web: "degraded_performance",
        untouched: "operational",
    }
    assert await history(sessions, api) == [
        ("operational", None),
        ("major_outage", incident["id"]),
    ]
    assert await history(sessions, untouched) == [("operational", None)]


async def test_it_shows_an_open_incident_and_its_promise_on_the_public_page(
    client: Client, admin: dict[str, str]
) -> None:
    api = await new_component(client, admin, "API")
    await open_incident(
        client,
        admin,
        title="Logins are slow",
        components=[{"component_id": api, "status": "partial_outage"}],
        next_update_by=soon().isoformat(),
    )
    await open_incident(client, admin, title="Internal only", public=False)

    page = await client.get("/")

    assert page.status == 200
    html = await page.text()
    assert "Logins are slow" in html
    assert "next update by" in html
    assert "Partial outage" in html
    assert "Internal only" not in html


async def test_it_starts_at_the_given_time_and_status(
    client: Client, admin: dict[str, str]
) -> None:
    started = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)

    incident = await open_incident(
        client, admin, status="identified", started_at="2024-05-01T18:30:00+09:00"
    )

    assert incident["status"] == "identified"
    assert at(incident["started_at"]) == started
    assert [u["status"] for u in incident["updates"]] == ["identified"]


# Reading


async def test_it_gets_an_incident_with_its_timeline_newest_first(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await open_incident(client, admin)
    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "A bad deploy; rolling back."},
        headers=admin,
    )
    assert posted.status == 201

    got = await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)

    assert got.status == 200
    fetched = await got.json()
    assert fetched["id"] == incident["id"]
    assert fetched["status"] == "identified"
    assert [(u["status"], u["body"]) for u in fetched["updates"]] == [
        ("identified", "A bad deploy; rolling back."),
        ("investigating", "We are looking into it."),
    ]


async def test_it_answers_404_for_an_unknown_incident(
    client: Client, admin: dict[str, str]
) -> None:
    update = {"status": "identified", "body": "Found it."}
    calls = [
        client.get("/api/v1/incidents/nosuchincident", headers=admin),
        client.patch("/api/v1/incidents/nosuchincident", json={"title": "x"}, headers=admin),
        client.post("/api/v1/incidents/nosuchincident/updates", json=update, headers=admin),
        client.post("/api/v1/incidents/nosuchincident/resolve", json={}, headers=admin),
        client.post("/api/v1/incidents/nosuchincident/reopen", json=update, headers=admin),
    ]
    for call in calls:
        response = await call
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem["status"] == 404
        assert "nosuchincident" in problem["detail"]


async def test_it_does_not_serve_a_maintenance_as_an_incident(
    client: Client, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/maintenance",
        json={
            "title": "Database upgrade",
            "body": "Planned.",
            "scheduled_for": soon(60).isoformat(),
            "scheduled_until": soon(120).isoformat(),
        },
        headers=admin,
    )
    assert created.status == 201
    maintenance_id = (await created.json())["id"]

    got = await client.get(f"/api/v1/incidents/{maintenance_id}", headers=admin)
    listed = await (await client.get("/api/v1/incidents", headers=admin)).json()

    assert got.status == 404
    assert listed["data"] == []


# Listing


async def test_it_lists_incidents_newest_first_and_filters_them(
    client: Client, admin: dict[str, str]
) -> None:
    api = await new_component(client, admin, "API")
    web = await new_component(client, admin, "Website")
    first = await open_incident(
        client, admin, title="First", impact="minor", components=[{"component_id": api}]
    )
    second = await open_incident(
        client,
        admin,
        title="Second",
        impact="critical",
        status="identified",
        components=[{"component_id": web}],
    )
    third = await open_incident(client, admin, title="Third", impact="critical")
    resolved = await client.post(f"/api/v1/incidents/{first['id']}/resolve", json={}, headers=admin)
    assert resolved.status == 200

    async def titles(query: str) -> list[str]:
        response = await client.get(f"/api/v1/incidents{query}", headers=admin)
        assert response.status == 200, await response.text()
        page = await response.json()
        assert page["next_cursor"] is None
        return [i["title"] for i in page["data"]]

    assert await titles("") == ["Third", "Second", "First"]
    assert await titles("?status=identified") == ["Second"]
    assert await titles("?status=resolved") == ["First"]
    assert await titles("?impact=critical") == ["Third", "Second"]
    assert await titles("?active=true") == ["Third", "Second"]
    assert await titles("?active=false") == ["First"]
    assert await titles(f"?component_id={api}") == ["First"]
    assert await titles(f"?component_id={web}&impact=critical") == ["Second"]
    assert await titles(f"?component_id={web}&impact=minor") == []
    assert {second["id"], third["id"]} == {
        i["id"]
        for i in (await (await client.get("/api/v1/incidents?active=1", headers=admin)).json())[
            "data"
        ]
    }


async def test_it_refuses_an_unknown_filter_value_naming_the_parameter(
    client: Client, admin: dict[str, str]
) -> None:
    for query, field in [
        ("status=closed", "status"),
        ("impact=huge", "impact"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("colour=red", "colour"),
    ]:
        response = await client.get(f"/api/v1/incidents?{query}", headers=admin)
        assert response.status == 422, query
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem_fields(problem) == [field]
        assert problem["errors"][0]["location"] == "query"


async def test_it_pages_through_every_incident_with_a_cursor(
    client: Client, admin: dict[str, str]
) -> None:
    created = [(await open_incident(client, admin, title=f"Incident {n}"))["id"] for n in range(25)]

    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        query = "limit=10" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(f"/api/v1/incidents?{query}", headers=admin)
        assert response.status == 200
        page = await response.json()
        sizes.append(len(page["data"]))
        seen += [i["id"] for i in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sizes == [10, 10, 5]
    assert len(set(seen)) == len(seen) == 25
    assert seen == list(reversed(created))


async def test_it_pages_through_a_filtered_list(client: Client, admin: dict[str, str]) -> None:
    major = [
        (await open_incident(client, admin, title=f"M{n}", impact="major"))["id"] for n in range(5)
    ]
    for n in range(4):
        await open_incident(client, admin, title=f"m{n}", impact="minor")

    first = await (await client.get("/api/v1/incidents?impact=major&limit=3", headers=admin)).json()
    second = await (
        await client.get(
            f"/api/v1/incidents?impact=major&limit=3&cursor={first['next_cursor']}", headers=admin
        )
    ).json()

    assert [i["id"] for i in first["data"] + second["data"]] == list(reversed(major))
    assert second["next_cursor"] is None


async def test_it_refuses_a_cursor_it_did_not_hand_out(
    client: Client, admin: dict[str, str]
) -> None:
    await open_incident(client, admin)
    cursors = [
        "not-a-cursor",
        "bm9wZQ",
        forged_cursor([1]),
        forged_cursor(["x", "y"]),
        # A time without an offset must not reach the database.
        forged_cursor(["2024-01-01T00:00:00", "x"]),
    ]
    for cursor in cursors:
        response = await client.get(f"/api/v1/incidents?cursor={cursor}", headers=admin)
        assert response.status == 422, cursor
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem_fields(problem) == ["cursor"]
        assert problem["errors"][0]["location"] == "query"


# Changing


async def test_it_patches_title_impact_visibility_and_promise(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin, impact="minor")
    promise = soon(45)

    patched = await client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={
            "title": "Card payments fail",
            "impact": "critical",
            "public": False,
            "next_update_by": promise.isoformat(),
        },
        headers=admin,
    )

    assert patched.status == 200
    changed = await patched.json()
    assert (changed["title"], changed["impact"], changed["public"]) == (
        "Card payments fail",
        "critical",
        False,
    )
    assert at(changed["next_update_by"]) == promise
    assert changed["status"] == "investigating"
    assert len(changed["updates"]) == 1
    fetched = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)).json()
    assert fetched == changed
    assert "Card payments fail" not in await (await client.get("/")).text()
    async with sessions() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "incident.update")
        )
    assert entry is not None
    assert entry.target_id == incident["id"]
    assert entry.api_key_name == "ops admin"
    assert entry.changes["impact"] == "critical"


async def test_a_patch_leaves_out_fields_it_does_not_name(
    client: Client, admin: dict[str, str]
) -> None:
    promise = soon()
    incident = await open_incident(
        client, admin, impact="major", next_update_by=promise.isoformat()
    )

    patched = await client.patch(
        f"/api/v1/incidents/{incident['id']}", json={"title": "Renamed"}, headers=admin
    )

    changed = await patched.json()
    assert changed["title"] == "Renamed"
    assert changed["impact"] == "major"
    assert at(changed["next_update_by"]) == promise


async def test_it_refuses_to_blank_a_required_field_with_null(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    before = await counts(sessions)

    for field in ["title", "impact", "public"]:
        response = await client.patch(
            f"/api/v1/incidents/{incident['id']}", json={field: None}, headers=admin
        )
        assert response.status == 422, field
        assert problem_fields(await response.json()) == [field]

    assert await counts(sessions) == before
    fetched = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)).json()
    assert fetched == incident


async def test_it_posts_an_update_that_adds_and_changes_components(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API", position=1)
    web = await new_component(client, admin, "Website", position=2)
    incident = await open_incident(
        client, admin, components=[{"component_id": api, "status": "major_outage"}]
    )

    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={
            "status": "identified",
            "body": "The website is affected too; the API is partly back.",
            "components": [
                {"component_id": api, "status": "partial_outage"},
                {"component_id": web, "status": "degraded_performance"},
            ],
            "notify": False,
        },
        headers=admin,
    )

    assert posted.status == 201
    changed = await posted.json()
    assert changed["status"] == "identified"
    assert [(c["component_id"], c["status"]) for c in changed["components"]] == [
        (api, "partial_outage"),
        (web, "degraded_performance"),
    ]
    latest = changed["updates"][0]
    assert latest["notify"] is False
    assert {
        (c["code"], c["old_status"], c["new_status"]) for c in latest["affected_components"]
    } == {
        (api, "major_outage", "partial_outage"),
        (web, "operational", "degraded_performance"),
    }
    assert await component_statuses(client, admin) == {
        api: "partial_outage",
        web: "degraded_performance",
    }
    assert await history(sessions, api) == [
        ("operational", None),
        ("major_outage", incident["id"]),
        ("partial_outage", incident["id"]),
    ]


async def test_an_update_without_components_leaves_them_as_they_are(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    incident = await open_incident(client, admin, components=[{"component_id": api}])

    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "Found it."},
        headers=admin,
    )

    assert posted.status == 201
    assert (await posted.json())["updates"][0]["affected_components"] is None
    assert await component_statuses(client, admin) == {api: "major_outage"}
    assert len(await history(sessions, api)) == 2


async def test_monitoring_sets_monitoring_at_once(client: Client, admin: dict[str, str]) -> None:
    incident = await open_incident(client, admin)
    url = f"/api/v1/incidents/{incident['id']}/updates"

    monitoring = await (
        await client.post(
            url, json={"status": "monitoring", "body": "Fix deployed."}, headers=admin
        )
    ).json()
    assert monitoring["monitoring_at"] is not None
    assert at(monitoring["monitoring_at"]) == at(monitoring["updates"][0]["created_at"])

    again = await (
        await client.post(url, json={"status": "monitoring", "body": "Still fine."}, headers=admin)
    ).json()
    assert again["monitoring_at"] == monitoring["monitoring_at"]


async def test_an_update_stores_and_shows_its_promised_next_update(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await open_incident(client, admin, title="Payments down")
    assert incident["next_update_by"] is None
    promise = soon(20)

    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={
            "status": "identified",
            "body": "Rolling back.",
            "next_update_by": promise.isoformat(),
        },
        headers=admin,
    )

    changed = await posted.json()
    assert at(changed["next_update_by"]) == promise
    assert at(changed["updates"][0]["next_update_by"]) == promise
    fetched = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)).json()
    assert at(fetched["next_update_by"]) == promise
    html = await (await client.get("/")).text()
    assert "Rolling back." in html
    assert "next update by" in html


async def test_it_refuses_a_promise_without_a_time_zone(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    before = await counts(sessions)

    response = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "x", "next_update_by": "2030-01-01T10:00:00"},
        headers=admin,
    )

    assert response.status == 422
    assert problem_fields(await response.json()) == ["next_update_by"]
    assert await counts(sessions) == before


# Resolving and reopening


async def test_it_resolves_an_incident_and_restores_its_components(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    incident = await open_incident(
        client,
        admin,
        components=[{"component_id": api, "status": "major_outage"}],
        next_update_by=soon().isoformat(),
    )

    resolved = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve",
        json={"body": "Payments work again."},
        headers=admin,
    )

    assert resolved.status == 200
    closed = await resolved.json()
    assert closed["status"] == "resolved"
    assert closed["resolved_at"] is not None
    assert closed["next_update_by"] is None
    assert (closed["updates"][0]["status"], closed["updates"][0]["body"]) == (
        "resolved",
        "Payments work again.",
    )
    assert closed["updates"][0]["next_update_by"] is None
    assert await component_statuses(client, admin) == {api: "operational"}
    assert await history(sessions, api) == [
        ("operational", None),
        ("major_outage", incident["id"]),
        ("operational", incident["id"]),
    ]
    html = await (await client.get("/")).text()
    # No longer among the active incidents (the uptime bar below still lists it for today).
    assert "Checkout is failing" not in html.split("Components")[0]
    assert "All Systems Operational" in html


async def test_resolving_uses_a_default_message(client: Client, admin: dict[str, str]) -> None:
    incident = await open_incident(client, admin)

    resolved = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin
    )

    assert resolved.status == 200
    assert (await resolved.json())["updates"][0]["body"] == "This incident has been resolved."


async def test_resolving_keeps_components_another_open_incident_still_affects(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    web = await new_component(client, admin, "Website")
    big = await open_incident(
        client,
        admin,
        title="Big",
        components=[
            {"component_id": api, "status": "major_outage"},
            {"component_id": web, "status": "major_outage"},
        ],
    )
    small = await open_incident(
        client,
        admin,
        title="Small",
        components=[{"component_id": api, "status": "degraded_performance"}],
    )
    assert await component_statuses(client, admin) == {api: "major_outage", web: "major_outage"}

    await client.post(f"/api/v1/incidents/{big['id']}/resolve", json={}, headers=admin)

    assert await component_statuses(client, admin) == {
        api: "degraded_performance",
        web: "operational",
    }

    await client.post(f"/api/v1/incidents/{small['id']}/resolve", json={}, headers=admin)

    assert await component_statuses(client, admin) == {api: "operational", web: "operational"}
    assert await history(sessions, api) == [
        ("operational", None),
        ("major_outage", big["id"]),
        ("degraded_performance", big["id"]),
        ("operational", small["id"]),
    ]


async def test_it_reopens_a_resolved_incident(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    incident = await open_incident(client, admin, components=[{"component_id": api}])
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)

    reopened = await client.post(
        f"/api/v1/incidents/{incident['id']}/reopen",
        json={
            "status": "identified",
            "body": "The errors are back.",
            "components": [{"component_id": api, "status": "partial_outage"}],
        },
        headers=admin,
    )

    assert reopened.status == 200
    again = await reopened.json()
    assert again["status"] == "identified"
    assert again["resolved_at"] is None
    assert [u["status"] for u in again["updates"]] == ["identified", "resolved", "investigating"]
    assert await component_statuses(client, admin) == {api: "partial_outage"}
    listed = await (await client.get("/api/v1/incidents?active=true", headers=admin)).json()
    assert [i["id"] for i in listed["data"]] == [incident["id"]]


async def test_reopening_puts_the_incidents_components_back_down(
    client: Client, admin: dict[str, str]
) -> None:
    api = await new_component(client, admin, "API")
    incident = await open_incident(
        client, admin, components=[{"component_id": api, "status": "partial_outage"}]
    )
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)
    assert await component_statuses(client, admin) == {api: "operational"}

    reopened = await client.post(
        f"/api/v1/incidents/{incident['id']}/reopen",
        json={"status": "investigating", "body": "Back again."},
        headers=admin,
    )

    assert reopened.status == 200
    assert await component_statuses(client, admin) == {api: "partial_outage"}


async def test_it_posts_a_postmortem_after_resolving(client: Client, admin: dict[str, str]) -> None:
    incident = await open_incident(client, admin)
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)

    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "postmortem", "body": "What happened and what we changed."},
        headers=admin,
    )

    assert posted.status == 201
    after = await posted.json()
    assert after["status"] == "postmortem"
    assert after["resolved_at"] is not None
    listed = await (await client.get("/api/v1/incidents?active=false", headers=admin)).json()
    assert [i["status"] for i in listed["data"]] == ["postmortem"]


async def assert_conflict(
    client: Client, admin: dict[str, str], sessions: Sessions, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    incident_id = url.split("/")[4]
    before = await counts(sessions)
    shown = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=admin)).json()

    response = await client.post(url, json=body, headers=admin)

    assert response.status == 409
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json()
    assert problem["status"] == 409
    assert await counts(sessions) == before
    after = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=admin)).json()
    assert after == shown
    return problem


async def test_it_refuses_to_reopen_without_reopen(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)

    for status in ["investigating", "identified", "monitoring"]:
        problem = await assert_conflict(
            client,
            admin,
            sessions,
            f"/api/v1/incidents/{incident['id']}/updates",
            {"status": status, "body": "Back?"},
        )
        assert "reopen" in problem["detail"]


async def test_it_refuses_a_postmortem_while_the_incident_is_active(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)

    await assert_conflict(
        client,
        admin,
        sessions,
        f"/api/v1/incidents/{incident['id']}/updates",
        {"status": "postmortem", "body": "Too early."},
    )


async def test_it_refuses_to_resolve_twice(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    first = await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)
    assert first.status == 200

    await assert_conflict(
        client, admin, sessions, f"/api/v1/incidents/{incident['id']}/resolve", {}
    )
    await assert_conflict(
        client,
        admin,
        sessions,
        f"/api/v1/incidents/{incident['id']}/updates",
        {"status": "resolved", "body": "Resolved again."},
    )


async def test_it_refuses_to_resolve_after_the_postmortem(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)
    await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "postmortem", "body": "Report."},
        headers=admin,
    )

    await assert_conflict(
        client, admin, sessions, f"/api/v1/incidents/{incident['id']}/resolve", {}
    )


async def test_it_refuses_a_promised_update_on_a_resolved_incident(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)
    before = await counts(sessions)

    response = await client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"next_update_by": soon().isoformat(), "title": "Renamed"},
        headers=admin,
    )

    assert response.status == 409
    assert await counts(sessions) == before
    fetched = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)).json()
    assert (fetched["title"], fetched["next_update_by"]) == ("Checkout is failing", None)
    renamed = await client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"title": "Renamed", "next_update_by": None},
        headers=admin,
    )
    assert renamed.status == 200
    assert (await renamed.json())["title"] == "Renamed"


async def test_it_refuses_to_reopen_an_active_incident(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)

    await assert_conflict(
        client,
        admin,
        sessions,
        f"/api/v1/incidents/{incident['id']}/reopen",
        {"status": "identified", "body": "Not closed yet."},
    )


async def test_it_refuses_to_reopen_into_an_ended_status(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)

    await assert_conflict(
        client,
        admin,
        sessions,
        f"/api/v1/incidents/{incident['id']}/reopen",
        {"status": "resolved", "body": "Hm."},
    )


# Invalid requests


async def test_it_names_the_failing_field_and_creates_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    before = await counts(sessions)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"body": "No title."}, ["title"]),
        ({"title": "   ", "body": "Blank title."}, ["title"]),
        ({"title": "T", "body": "x", "impact": "apocalyptic"}, ["impact"]),
        ({"title": "T", "body": "x", "status": "postmortem"}, ["status"]),
        ({"title": "T", "body": "x", "colour": "red"}, ["colour"]),
        (
            {"title": "T", "body": "x", "components": [{"component_id": api, "status": "bad"}]},
            ["components[0].status"],
        ),
        (
            {"title": "T", "body": "x", "components": [{"status": "major_outage"}]},
            ["components[0].component_id"],
        ),
    ]
    for body, fields in cases:
        response = await client.post("/api/v1/incidents", json=body, headers=admin)
        assert response.status == 422, body
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem_fields(problem) == fields, body
        assert all(e["location"] == "body" for e in problem["errors"])
    unknown = await client.post(
        "/api/v1/incidents",
        json={
            "title": "T",
            "body": "x",
            "components": [{"component_id": api}, {"component_id": "nosuchcomponent"}],
        },
        headers=admin,
    )
    # A reference to nothing is a 404 naming the field (Stripe's resource_missing).
    assert unknown.status == 404
    assert problem_fields(await unknown.json()) == ["components[1].component_id"]

    assert await counts(sessions) == before
    assert await component_statuses(client, admin) == {api: "operational"}


async def test_it_refuses_the_same_component_twice(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    before = await counts(sessions)

    response = await client.post(
        "/api/v1/incidents",
        json={
            "title": "T",
            "body": "x",
            "components": [
                {"component_id": api, "status": "major_outage"},
                {"component_id": api, "status": "partial_outage"},
            ],
        },
        headers=admin,
    )

    assert response.status == 422
    assert problem_fields(await response.json()) == ["components[1].component_id"]
    assert await counts(sessions) == before


async def test_it_refuses_a_body_that_is_not_json(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    before = await counts(sessions)

    response = await client.post(
        "/api/v1/incidents",
        data=b"{title",
        headers={**admin, "Content-Type": "application/json"},
    )

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert await counts(sessions) == before


async def test_a_rejected_update_changes_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    web = await new_component(client, admin, "Website")
    incident = await open_incident(client, admin, components=[{"component_id": api}])
    before = await counts(sessions)

    response = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={
            "status": "monitoring",
            "body": "Half valid.",
            "components": [
                {"component_id": web, "status": "major_outage"},
                {"component_id": "nosuchcomponent"},
            ],
        },
        headers=admin,
    )

    assert response.status == 404
    assert problem_fields(await response.json()) == ["components[1].component_id"]
    assert await counts(sessions) == before
    assert await component_statuses(client, admin) == {api: "major_outage", web: "operational"}
    fetched = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)).json()
    assert fetched == incident


# Keys and scopes


async def test_it_needs_a_key(client: Client, sessions: Sessions) -> None:
    for headers in [{}, {"Authorization": "Bearer fw_nosuchkey"}, {"Authorization": "Basic x"}]:
        response = await client.post(
            "/api/v1/incidents", json={"title": "T", "body": "x"}, headers=headers
        )
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        listed = await client.get("/api/v1/incidents", headers=headers)
        assert listed.status == 401
    assert await count(sessions, Incident) == 0


async def test_a_read_key_reads_but_cannot_write(
    client: Client, admin: dict[str, str], make_key: KeyFactory, sessions: Sessions
) -> None:
    reader = await make_key("read")
    incident = await open_incident(client, admin)
    before = await counts(sessions)

    listed = await client.get("/api/v1/incidents", headers=reader)
    got = await client.get(f"/api/v1/incidents/{incident['id']}", headers=reader)
    refused = [
        await client.post("/api/v1/incidents", json={"title": "T", "body": "x"}, headers=reader),
        await client.patch(
            f"/api/v1/incidents/{incident['id']}", json={"title": "x"}, headers=reader
        ),
        await client.post(
            f"/api/v1/incidents/{incident['id']}/updates",
            json={"status": "identified", "body": "x"},
            headers=reader,
        ),
        await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=reader),
    ]

    assert listed.status == 200
    assert got.status == 200
    for response in refused:
        assert response.status == 403
        assert response.content_type == "application/problem+json"
        assert "incidents:write" in (await response.json())["detail"]
    assert await counts(sessions) == before


async def test_a_components_key_cannot_open_incidents(
    client: Client, make_key: KeyFactory, sessions: Sessions
) -> None:
    key = await make_key("components:write")

    response = await client.post("/api/v1/incidents", json={"title": "T", "body": "x"}, headers=key)

    assert response.status == 403
    assert await count(sessions, Incident) == 0


async def test_an_incidents_key_opens_updates_and_resolves_an_incident(
    client: Client, make_key: KeyFactory, sessions: Sessions
) -> None:
    writer = await make_key("incidents:write", name="pager bot")

    incident = await open_incident(client, writer)
    posted = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "monitoring", "body": "Fixed."},
        headers=writer,
    )
    resolved = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=writer
    )

    assert posted.status == 201
    assert resolved.status == 200
    assert [u["posted_by"] for u in (await resolved.json())["updates"]] == ["pager bot"] * 3
    async with sessions() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target_id == incident["id"])
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ).all()
    assert sorted(actions) == ["incident.create", "incident.post_update", "incident.resolve"]
