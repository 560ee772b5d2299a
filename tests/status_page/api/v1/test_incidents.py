"""Ops API: incidents opened, read, listed and refused, and the keys that may do so
(``status_page/api/v1/incidents.py``); changing, resolving and reopening them are in
test_incident_updates.py."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from notifier.tables import AuditEntry, Incident
from tests.conftest import Client, KeyFactory
from tests.status_page.api.v1.incident_helpers import (
    Sessions,
    at,
    component_statuses,
    count,
    counts,
    history,
    new_component,
    open_incident,
    problem_fields,
    soon,
)


def forged_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


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
