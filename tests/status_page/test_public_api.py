"""The Statuspage v2 documents: same keys, enums and nesting as a real Statuspage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Client

# A real Statuspage summary.json; source and licence in tests/contract/specs/README.md.
SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "contract"
    / "specs"
    / "statuspage"
    / "summary.githubstatus.2022-11-25.json"
)
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
Headers = dict[str, str]


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    assert SAMPLE.exists(), f"Statuspage's sample document is missing: {SAMPLE}"
    document: dict[str, Any] = json.loads(SAMPLE.read_text())
    return document


async def make_page(client: Client, admin: Headers) -> dict[str, str]:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(f"/api/v1/{path}", json=body, headers=admin)
        assert response.status == 201, await response.text()
        result: dict[str, Any] = await response.json()
        return result

    api = await post("components", {"name": "API", "description": "The REST API"})
    web = await post("components", {"name": "Website"})
    group = await post("component-groups", {"name": "Core", "components": [api["id"]]})
    incident = await post(
        "incidents",
        {
            "title": "Slow API",
            "body": "We are investigating.",
            "impact": "major",
            "components": [{"component_id": api["id"], "status": "partial_outage"}],
        },
    )
    await post(
        f"incidents/{incident['id']}/updates",
        {"status": "identified", "body": "Found it."},
    )
    maintenance = await post(
        "maintenance",
        {
            "title": "Upgrade",
            "body": "Short read-only window.",
            "scheduled_for": "2099-01-01T01:00:00Z",
            "scheduled_until": "2099-01-01T02:00:00Z",
            "components": [web["id"]],
        },
    )
    return {
        "api": api["id"],
        "group": group["id"],
        "incident": incident["id"],
        "maintenance": maintenance["id"],
    }


async def get(client: Client, path: str) -> dict[str, Any]:
    response = await client.get(f"/api/v2/{path}")
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document: dict[str, Any] = await response.json()
    return document


async def test_summary_has_statuspages_keys_nesting_and_enums(
    client: Client, admin: Headers, sample: dict[str, Any]
) -> None:
    ids = await make_page(client, admin)
    summary = await get(client, "summary.json")

    assert set(summary) == set(sample)
    assert set(summary["page"]) == set(sample["page"])
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    component_keys = set(sample["components"][0])
    for component in summary["components"]:
        expected = component_keys | ({"components"} if component["group"] else set())
        assert set(component) == expected
        assert component["status"] in COMPONENT_STATUSES
    [group] = [c for c in summary["components"] if c["group"]]
    assert (group["id"], group["components"]) == (ids["group"], [ids["api"]])
    [api] = [c for c in summary["components"] if c["id"] == ids["api"]]
    assert api["group_id"] == ids["group"]

    [incident] = summary["incidents"]
    assert set(incident) == set(sample["incidents"][0])
    assert incident["status"] in INCIDENT_STATUSES
    assert incident["impact"] == "major"
    update_keys = set(sample["incidents"][0]["incident_updates"][0])
    assert all(set(u) == update_keys for u in incident["incident_updates"])
    assert [u["status"] for u in incident["incident_updates"]] == ["identified", "investigating"]
    first = incident["incident_updates"][-1]
    assert first["affected_components"] == [
        {
            "code": ids["api"],
            "name": "API",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert {c["id"] for c in incident["components"]} == {ids["api"]}
    assert all(set(c) == component_keys for c in incident["components"])

    [maintenance] = summary["scheduled_maintenances"]
    assert set(maintenance) == set(sample["incidents"][0]) | {"scheduled_for", "scheduled_until"}
    assert maintenance["status"] in MAINTENANCE_STATUSES
    assert maintenance["impact"] == "maintenance"
    assert maintenance["scheduled_for"] == "2099-01-01T01:00:00.000Z"


async def test_every_document_has_the_page_and_its_own_key(client: Client, admin: Headers) -> None:
    ids = await make_page(client, admin)
    await client.post(f"/api/v1/incidents/{ids['incident']}/resolve", headers=admin)
    expected = {
        "status.json": "status",
        "components.json": "components",
        "incidents.json": "incidents",
        "incidents/unresolved.json": "incidents",
        "scheduled-maintenances.json": "scheduled_maintenances",
        "scheduled-maintenances/upcoming.json": "scheduled_maintenances",
        "scheduled-maintenances/active.json": "scheduled_maintenances",
    }
    documents = {path: await get(client, path) for path in expected}
    for path, key in expected.items():
        assert set(documents[path]) == {"page", key}, path
    assert documents["status.json"]["status"]["indicator"] in INDICATORS
    assert [i["status"] for i in documents["incidents.json"]["incidents"]] == ["resolved"]
    assert documents["incidents/unresolved.json"]["incidents"] == []
    upcoming = documents["scheduled-maintenances/upcoming.json"]["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == [ids["maintenance"]]
    assert documents["scheduled-maintenances/active.json"]["scheduled_maintenances"] == []
    assert documents["status.json"]["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }


async def test_a_private_incident_is_not_published(client: Client, admin: Headers) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": "Internal only", "body": "Ops only.", "public": False},
        headers=admin,
    )
    assert response.status == 201
    assert (await get(client, "incidents.json"))["incidents"] == []


async def test_an_unchanged_document_answers_304_and_a_change_a_new_etag(
    client: Client, admin: Headers
) -> None:
    await make_page(client, admin)
    first = await client.get("/api/v2/summary.json")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public")
    again = await client.get("/api/v2/summary.json", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""

    await client.post("/api/v1/components", json={"name": "New"}, headers=admin)
    changed = await client.get("/api/v2/summary.json", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
