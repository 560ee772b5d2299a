from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Client, KeyFactory

WINDOW = {"scheduled_for": "2030-01-01T02:00:00Z", "scheduled_until": "2030-01-01T04:00:00Z"}


async def _send(
    client: Client, method: str, path: str, headers: dict[str, str], body: Any = None
) -> dict[str, Any]:
    response = await client.request(method, f"/api/v1{path}", json=body, headers=headers)
    assert response.status < 300, await response.text()
    if response.status == 204:
        return {}
    result: dict[str, Any] = await response.json()
    return result


async def _audit_log(client: Client, admin: dict[str, str], query: str = "") -> list[Any]:
    response = await client.get(f"/api/v1/audit-log?limit=100&{query}", headers=admin)
    assert response.status == 200, await response.text()
    page = await response.json()
    assert page["next_cursor"] is None
    entries: list[Any] = page["data"]
    return entries


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_every_change_through_the_api_is_in_the_audit_log(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    ops = await make_key(
        "components:write", "incidents:write", "customers:write", name="ops laptop"
    )
    done: list[tuple[str, str, str]] = []

    async def change(action: str, target: str, method: str, path: str, body: Any = None) -> Any:
        result = await _send(client, method, path, ops, body)
        done.append((action, target, result.get("id", "")))
        return result

    component = await change("component.create", "component", "POST", "/components", {"name": "A"})
    cid = component["id"]
    await change("component.update", "component", "PATCH", f"/components/{cid}", {"position": 1})
    group = await change("group.create", "group", "POST", "/component-groups", {"name": "G"})
    gid = group["id"]
    await change("group.update", "group", "PATCH", f"/component-groups/{gid}", {"name": "H"})
    incident = await change(
        "incident.create", "incident", "POST", "/incidents", {"title": "Down", "body": "Looking"}
    )
    iid = incident["id"]
    await change("incident.update", "incident", "PATCH", f"/incidents/{iid}", {"impact": "major"})
    await change(
        "incident.post_update",
        "incident",
        "POST",
        f"/incidents/{iid}/updates",
        {"status": "identified", "body": "Found it"},
    )
    await change("incident.resolve", "incident", "POST", f"/incidents/{iid}/resolve", {})
    await change(
        "incident.reopen",
        "incident",
        "POST",
        f"/incidents/{iid}/reopen",
        {"status": "investigating", "body": "Back again"},
    )
    work = await change(
        "maintenance.create",
        "maintenance",
        "POST",
        "/maintenance",
        {"title": "Upgrade", "body": "Database upgrade", **WINDOW},
    )
    mid = work["id"]
    await change(
        "maintenance.update", "maintenance", "PATCH", f"/maintenance/{mid}", {"title": "DB"}
    )
    await change("maintenance.cancel", "maintenance", "POST", f"/maintenance/{mid}/cancel", {})
    customer = await change("customer.upsert", "customer", "PUT", "/customers/crm-1", {})
    problem = await change(
        "delivery_problem.create",
        "delivery_problem",
        "POST",
        "/delivery-problems",
        {"reference": "ORD-1", "kind": "delayed", "body": "Late", "customers": ["crm-1"]},
    )
    pid = problem["id"]
    await change(
        "delivery_problem.post_update",
        "delivery_problem",
        "POST",
        f"/delivery-problems/{pid}/updates",
        {"body": "On its way"},
    )
    await change(
        "delivery_problem.resolve",
        "delivery_problem",
        "POST",
        f"/delivery-problems/{pid}/resolve",
        {},
    )
    await _send(client, "DELETE", "/customers/crm-1", ops)
    done.append(("customer.erase", "customer", customer["id"]))
    await _send(client, "DELETE", f"/component-groups/{gid}", ops)
    done.append(("group.delete", "group", gid))
    await _send(client, "DELETE", f"/components/{cid}", ops)
    done.append(("component.delete", "component", cid))

    entries = await _audit_log(client, admin)

    assert [(e["action"], e["target_type"], e["target_id"]) for e in reversed(entries)] == done
    assert {e["api_key_name"] for e in entries} == {"ops laptop"}
    assert len({e["api_key_id"] for e in entries}) == 1
    times = [_time(e["at"]) for e in entries]
    assert times == sorted(times, reverse=True)


async def test_an_entry_says_when_and_what_changed(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    writer = await make_key("components:write", name="status bot")
    component = await _send(client, "POST", "/components", writer, {"name": "API"})
    changed = await _send(
        client, "PATCH", f"/components/{component['id']}", writer, {"status": "major_outage"}
    )

    update, create = await _audit_log(client, admin)

    assert create["changes"] == {"name": "API"}
    assert update["changes"] == {"status": "major_outage"}
    assert update["api_key_name"] == "status bot"
    assert _time(create["at"]) == _time(component["created_at"])
    assert _time(update["at"]) == _time(changed["updated_at"])


async def test_reads_and_refused_requests_leave_no_entry(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    reader = await make_key("read")
    component = await _send(client, "POST", "/components", admin, {"name": "API"})

    await client.get("/api/v1/components", headers=admin)
    await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    await client.post("/api/v1/components", json={"name": "B"}, headers=reader)
    await client.post("/api/v1/components", json={"name": ""}, headers=admin)
    await client.patch("/api/v1/components/nosuchthing0", json={"name": "C"}, headers=admin)
    await client.post(
        "/api/v1/incidents/nosuchthing0/resolve", json={}, headers=admin
    )  # 404 inside a POST

    entries = await _audit_log(client, admin)
    assert [e["action"] for e in entries] == ["component.create"]


async def test_a_conflict_leaves_no_entry(client: Client, admin: dict[str, str]) -> None:
    incident = await _send(client, "POST", "/incidents", admin, {"title": "Down", "body": "Hm"})
    await _send(client, "POST", f"/incidents/{incident['id']}/resolve", admin, {})

    again = await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=admin)

    assert again.status == 409
    entries = await _audit_log(client, admin)
    assert [e["action"] for e in entries] == ["incident.resolve", "incident.create"]


@pytest.mark.parametrize(
    "scopes",
    [
        ("read",),
        ("components:write",),
        ("incidents:write",),
        ("customers:read", "customers:write"),
        ("read", "components:write", "incidents:write", "customers:read", "customers:write"),
    ],
)
async def test_reading_the_audit_log_needs_the_admin_scope(
    client: Client, admin: dict[str, str], make_key: KeyFactory, scopes: tuple[str, ...]
) -> None:
    await _send(client, "POST", "/components", admin, {"name": "API"})

    response = await client.get("/api/v1/audit-log", headers=await make_key(*scopes))

    assert response.status == 403
    assert response.content_type == "application/problem+json"
    assert "admin" in (await response.json())["detail"]
    assert "component.create" not in await response.text()


async def test_it_filters_by_action_target_type_and_target(
    client: Client, admin: dict[str, str]
) -> None:
    first = await _send(client, "POST", "/components", admin, {"name": "First"})
    second = await _send(client, "POST", "/components", admin, {"name": "Second"})
    await _send(client, "PATCH", f"/components/{first['id']}", admin, {"name": "First!"})
    group = await _send(client, "POST", "/component-groups", admin, {"name": "G"})

    created = await _audit_log(client, admin, "action=component.create")
    groups = await _audit_log(client, admin, "target_type=group")
    about_first = await _audit_log(client, admin, f"target_id={first['id']}")
    both = await _audit_log(client, admin, f"target_id={first['id']}&action=component.update")
    none = await _audit_log(client, admin, "action=component.delete")

    assert [e["target_id"] for e in created] == [second["id"], first["id"]]
    assert [e["target_id"] for e in groups] == [group["id"]]
    assert [e["action"] for e in about_first] == ["component.update", "component.create"]
    assert [e["action"] for e in both] == ["component.update"]
    assert none == []


async def test_it_pages_through_the_audit_log_newest_first(
    client: Client, admin: dict[str, str]
) -> None:
    ids = [
        (await _send(client, "POST", "/components", admin, {"name": f"C{n}"}))["id"]
        for n in range(5)
    ]

    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        response = await client.get(
            "/api/v1/audit-log", params={"limit": "2", "cursor": cursor}, headers=admin
        )
        assert response.status == 200
        page = await response.json()
        seen += [e["target_id"] for e in page["data"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]

    assert seen == list(reversed(ids))


async def test_a_bad_audit_log_query_is_a_422(client: Client, admin: dict[str, str]) -> None:
    response = await client.get("/api/v1/audit-log?limit=500&who=me", headers=admin)

    assert response.status == 422
    errors = (await response.json())["errors"]
    assert sorted((e["location"], e["field"]) for e in errors) == [
        ("query", "limit"),
        ("query", "who"),
    ]
