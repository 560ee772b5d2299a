"""Ops API: an incident changed after it opened (``status_page/api/v1/incidents.py``):
patches, updates with their components and promises, resolving, reopening and the
postmortem, and the transitions refused with a 409."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from notifier.tables import AuditEntry
from tests.conftest import Client
from tests.status_page.api.v1.incident_helpers import (
    Sessions,
    at,
    component_statuses,
    counts,
    history,
    new_component,
    open_incident,
    problem_fields,
    soon,
)

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
