from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.tables import Component, ComponentGroup, ComponentStatusChange
from tests.conftest import Client, KeyFactory

Sessions = async_sessionmaker[AsyncSession]


async def _create(
    client: Client, headers: dict[str, str], path: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def _history(sessions: Sessions, component_id: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ComponentStatusChange.status)
            .where(ComponentStatusChange.component_id == component_id)
            .order_by(ComponentStatusChange.id)
        )
        return list(rows)


async def _count(sessions: Sessions, table: type[Component] | type[ComponentGroup]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_it_creates_lists_changes_and_deletes_a_component(
    client: Client, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/components", json={"name": "Checkout API", "position": 2}, headers=admin
    )
    assert created.status == 201
    component = await created.json()
    assert component["status"] == "operational"

    changed = await client.patch(
        f"/api/v1/components/{component['id']}",
        json={"status": "major_outage", "description": "Card payments"},
        headers=admin,
    )
    assert changed.status == 200
    assert (await changed.json())["status"] == "major_outage"

    listed = await (await client.get("/api/v1/components", headers=admin)).json()
    assert [(c["name"], c["status"]) for c in listed["data"]] == [("Checkout API", "major_outage")]

    deleted = await client.delete(f"/api/v1/components/{component['id']}", headers=admin)
    assert deleted.status == 204
    gone = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    assert gone.status == 404
    assert gone.content_type == "application/problem+json"


async def test_it_fills_in_defaults_for_a_new_component(
    client: Client, admin: dict[str, str]
) -> None:
    component = await _create(client, admin, "components", name="Website")

    assert component["description"] == ""
    assert component["group_id"] is None
    assert component["position"] == 0
    assert component["visible"] is True
    assert component["only_show_if_degraded"] is False
    fetched = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    assert fetched.status == 200
    assert await fetched.json() == component


async def test_it_lists_components_by_position_then_name(
    client: Client, admin: dict[str, str]
) -> None:
    await _create(client, admin, "components", name="Search", position=1)
    await _create(client, admin, "components", name="Billing", position=1)
    await _create(client, admin, "components", name="Website", position=0)

    listed = await (await client.get("/api/v1/components", headers=admin)).json()

    assert [c["name"] for c in listed["data"]] == ["Website", "Billing", "Search"]
    assert listed["next_cursor"] is None


async def test_it_records_the_first_status_and_every_change_of_status(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    component = await _create(
        client, admin, "components", name="SMS gateway", status="degraded_performance"
    )
    path = f"/api/v1/components/{component['id']}"

    for status in ("partial_outage", "partial_outage", "operational"):
        response = await client.patch(path, json={"status": status}, headers=admin)
        assert response.status == 200
    renamed = await client.patch(path, json={"name": "SMS"}, headers=admin)
    assert renamed.status == 200

    # Setting the status it already has, or changing something else, adds no history.
    assert await _history(sessions, component["id"]) == [
        "degraded_performance",
        "partial_outage",
        "operational",
    ]


async def test_it_keeps_fields_a_patch_does_not_mention(
    client: Client, admin: dict[str, str]
) -> None:
    component = await _create(
        client, admin, "components", name="API", description="Public REST API", position=3
    )

    response = await client.patch(
        f"/api/v1/components/{component['id']}", json={"visible": False}, headers=admin
    )

    changed = await response.json()
    assert changed["visible"] is False
    assert (changed["name"], changed["description"], changed["position"]) == (
        "API",
        "Public REST API",
        3,
    )


async def test_it_refuses_an_unknown_component_status(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    response = await client.post(
        "/api/v1/components", json={"name": "API", "status": "on_fire"}, headers=admin
    )

    assert response.status == 422
    problem = await response.json()
    assert [e["field"] for e in problem["errors"]] == ["status"]
    assert await _count(sessions, Component) == 0


async def test_it_answers_404_for_an_unknown_component(
    client: Client, admin: dict[str, str]
) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, "/api/v1/components/nosuchthing0", json={}, headers=admin
        )
        assert response.status == 404, method
        assert response.content_type == "application/problem+json"
        assert "nosuchthing0" in (await response.json())["detail"]


async def test_deleting_a_component_deletes_its_status_history(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    component = await _create(client, admin, "components", name="API")
    await client.patch(
        f"/api/v1/components/{component['id']}", json={"status": "major_outage"}, headers=admin
    )

    response = await client.delete(f"/api/v1/components/{component['id']}", headers=admin)

    assert response.status == 204
    assert await _history(sessions, component["id"]) == []


# Groups


async def test_it_creates_a_group_with_components_moved_into_it(
    client: Client, admin: dict[str, str]
) -> None:
    api = await _create(client, admin, "components", name="API", position=1)
    web = await _create(client, admin, "components", name="Website", position=0)

    group = await _create(
        client,
        admin,
        "component-groups",
        name="Core",
        description="What customers touch",
        components=[api["id"], web["id"]],
    )

    assert group["name"] == "Core"
    assert group["description"] == "What customers touch"
    assert group["components"] == [web["id"], api["id"]]  # by position
    for component in (api, web):
        fetched = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
        assert (await fetched.json())["group_id"] == group["id"]
    got = await client.get(f"/api/v1/component-groups/{group['id']}", headers=admin)
    assert got.status == 200
    assert await got.json() == group


async def test_it_lists_groups_by_position(client: Client, admin: dict[str, str]) -> None:
    await _create(client, admin, "component-groups", name="Later", position=2)
    await _create(client, admin, "component-groups", name="First", position=1)

    listed = await (await client.get("/api/v1/component-groups", headers=admin)).json()

    assert [g["name"] for g in listed["data"]] == ["First", "Later"]


async def test_patching_a_groups_components_moves_them_in_and_out(
    client: Client, admin: dict[str, str]
) -> None:
    first = await _create(client, admin, "components", name="First")
    second = await _create(client, admin, "components", name="Second")
    group = await _create(client, admin, "component-groups", name="G", components=[first["id"]])

    response = await client.patch(
        f"/api/v1/component-groups/{group['id']}",
        json={"components": [second["id"]], "name": "Renamed"},
        headers=admin,
    )

    assert response.status == 200
    patched = await response.json()
    assert patched["components"] == [second["id"]]
    assert patched["name"] == "Renamed"
    moved_out = await (await client.get(f"/api/v1/components/{first['id']}", headers=admin)).json()
    moved_in = await (await client.get(f"/api/v1/components/{second['id']}", headers=admin)).json()
    assert moved_out["group_id"] is None
    assert moved_in["group_id"] == group["id"]


async def test_patching_a_group_without_components_keeps_its_members(
    client: Client, admin: dict[str, str]
) -> None:
    member = await _create(client, admin, "components", name="Member")
    group = await _create(client, admin, "component-groups", name="G", components=[member["id"]])

    response = await client.patch(
        f"/api/v1/component-groups/{group['id']}", json={"position": 5}, headers=admin
    )

    assert (await response.json())["components"] == [member["id"]]


async def test_a_component_moves_between_groups_by_its_group_id(
    client: Client, admin: dict[str, str]
) -> None:
    old = await _create(client, admin, "component-groups", name="Old")
    new = await _create(client, admin, "component-groups", name="New")
    component = await _create(client, admin, "components", name="API", group_id=old["id"])

    response = await client.patch(
        f"/api/v1/components/{component['id']}", json={"group_id": new["id"]}, headers=admin
    )

    assert (await response.json())["group_id"] == new["id"]
    old_now = await (
        await client.get(f"/api/v1/component-groups/{old['id']}", headers=admin)
    ).json()
    new_now = await (
        await client.get(f"/api/v1/component-groups/{new['id']}", headers=admin)
    ).json()
    assert old_now["components"] == []
    assert new_now["components"] == [component["id"]]

    ungrouped = await client.patch(
        f"/api/v1/components/{component['id']}", json={"group_id": None}, headers=admin
    )
    assert (await ungrouped.json())["group_id"] is None


async def test_deleting_a_group_leaves_its_components_ungrouped(
    client: Client, admin: dict[str, str]
) -> None:
    component = await _create(client, admin, "components", name="API")
    group = await _create(
        client, admin, "component-groups", name="Core", components=[component["id"]]
    )

    deleted = await client.delete(f"/api/v1/component-groups/{group['id']}", headers=admin)

    assert deleted.status == 204
    gone = await client.get(f"/api/v1/component-groups/{group['id']}", headers=admin)
    assert gone.status == 404
    assert gone.content_type == "application/problem+json"
    kept = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    assert kept.status == 200
    assert (await kept.json())["group_id"] is None


async def test_an_unknown_group_id_is_a_404_naming_group_id(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    created = await client.post(
        "/api/v1/components", json={"name": "API", "group_id": "nosuchgroup0"}, headers=admin
    )

    # A reference to nothing is a 404 naming the field (Stripe's resource_missing).
    assert created.status == 404
    assert created.content_type == "application/problem+json"
    errors = (await created.json())["errors"]
    assert [(e["location"], e["field"], e["pointer"]) for e in errors] == [
        ("body", "group_id", "/group_id")
    ]
    assert "nosuchgroup0" in errors[0]["detail"]
    assert await _count(sessions, Component) == 0

    component = await _create(client, admin, "components", name="API")
    patched = await client.patch(
        f"/api/v1/components/{component['id']}",
        json={"group_id": "nosuchgroup0", "name": "Changed"},
        headers=admin,
    )
    assert patched.status == 404
    assert [e["field"] for e in (await patched.json())["errors"]] == ["group_id"]
    unchanged = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    assert (await unchanged.json())["name"] == "API"


async def test_an_unknown_component_in_a_group_is_a_404_and_creates_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    component = await _create(client, admin, "components", name="API")

    response = await client.post(
        "/api/v1/component-groups",
        json={"name": "Core", "components": [component["id"], "nosuchthing0"]},
        headers=admin,
    )

    assert response.status == 404
    errors = (await response.json())["errors"]
    assert [(e["field"], e["pointer"]) for e in errors] == [("components[1]", "/components/1")]
    assert await _count(sessions, ComponentGroup) == 0
    unchanged = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    assert (await unchanged.json())["group_id"] is None


async def test_it_answers_404_for_an_unknown_group(client: Client, admin: dict[str, str]) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, "/api/v1/component-groups/nosuchgroup0", json={}, headers=admin
        )
        assert response.status == 404, method
        assert response.content_type == "application/problem+json"


# Scopes


async def test_a_read_key_reads_components_and_groups(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    component = await _create(client, admin, "components", name="API")
    group = await _create(client, admin, "component-groups", name="Core")
    reader = await make_key("read")

    for path in (
        "/api/v1/components",
        f"/api/v1/components/{component['id']}",
        "/api/v1/component-groups",
        f"/api/v1/component-groups/{group['id']}",
    ):
        response = await client.get(path, headers=reader)
        assert response.status == 200, path


async def test_changing_components_needs_the_components_write_scope(
    client: Client, admin: dict[str, str], make_key: KeyFactory, sessions: Sessions
) -> None:
    component = await _create(client, admin, "components", name="API")
    group = await _create(client, admin, "component-groups", name="Core")
    writes = [
        ("POST", "/api/v1/components", {"name": "New"}),
        ("PATCH", f"/api/v1/components/{component['id']}", {"status": "major_outage"}),
        ("DELETE", f"/api/v1/components/{component['id']}", None),
        ("POST", "/api/v1/component-groups", {"name": "New"}),
        ("PATCH", f"/api/v1/component-groups/{group['id']}", {"name": "Renamed"}),
        ("DELETE", f"/api/v1/component-groups/{group['id']}", None),
    ]

    for scope in ("read", "incidents:write", "customers:write"):
        headers = await make_key(scope)
        for method, path, body in writes:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status == 403, (scope, method, path)
            assert response.content_type == "application/problem+json"
            assert "components:write" in (await response.json())["detail"]

    assert await _count(sessions, Component) == 1
    assert await _count(sessions, ComponentGroup) == 1
    assert await _history(sessions, component["id"]) == ["operational"]
    unchanged = await (await client.get("/api/v1/component-groups", headers=admin)).json()
    assert [g["name"] for g in unchanged["data"]] == ["Core"]


async def test_a_components_write_key_changes_components_and_groups(
    client: Client, make_key: KeyFactory
) -> None:
    writer = await make_key("components:write")

    component = await _create(client, writer, "components", name="API")
    group = await _create(
        client, writer, "component-groups", name="G", components=[component["id"]]
    )
    patched = await client.patch(
        f"/api/v1/components/{component['id']}", json={"status": "major_outage"}, headers=writer
    )
    deleted = await client.delete(f"/api/v1/component-groups/{group['id']}", headers=writer)

    assert patched.status == 200
    assert deleted.status == 204


async def test_deleting_a_component_takes_it_off_its_incidents(
    client: Client, admin: dict[str, str]
) -> None:
    kept = await _create(client, admin, "components", name="Kept")
    doomed = await _create(client, admin, "components", name="Doomed")
    incident = await _create(
        client,
        admin,
        "incidents",
        title="Down",
        body="Looking",
        components=[{"component_id": kept["id"]}, {"component_id": doomed["id"]}],
    )

    deleted = await client.delete(f"/api/v1/components/{doomed['id']}", headers=admin)

    assert deleted.status == 204
    after = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=admin)).json()
    assert [c["name"] for c in after["components"]] == ["Kept"]
