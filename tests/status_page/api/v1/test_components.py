from __future__ import annotations

from tests.conftest import Client


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
