"""Ops API: a subject's notifications with their deliveries counted, and a customer's
deliveries (``status_page/api/v1/notifications.py``)."""

from __future__ import annotations

from typing import Any

from config import Settings
from tests.conftest import Client
from tests.notifier.delivery.test_sending import run_worker

Headers = dict[str, str]


async def ok(client: Client, path: str, headers: Headers, status: int = 200) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def test_a_notification_is_listed_and_read_alike_with_its_audience_and_counts(
    client: Client, admin: Headers, settings: Settings
) -> None:
    created = await client.post("/api/v1/components", json={"name": "API"}, headers=admin)
    component_id = (await created.json())["id"]
    posted = await client.post(
        "/api/v1/incidents",
        json={
            "title": "API errors",
            "body": "Looking.",
            "components": [{"component_id": component_id, "status": "partial_outage"}],
        },
        headers=admin,
    )
    incident = await posted.json()
    path = f"/api/v1/subjects/{incident['id']}/notifications"

    before = await ok(client, path, admin)
    await run_worker(settings)
    after = await ok(client, path, admin)

    [pending] = before["data"]
    assert before["next_cursor"] is None
    assert (pending["kind"], pending["event"], pending["subject_id"], pending["status"]) == (
        "incident_update",
        "incident_created",
        incident["id"],
        "pending",
    )
    assert pending["update_id"] == incident["updates"][0]["id"]
    assert pending["audience"] == {"components": [component_id]}
    assert pending["deliveries"] == {}
    assert pending["fanned_out_at"] is None
    [done] = after["data"]
    assert (done["id"], done["status"]) == (pending["id"], "done")
    assert done["fanned_out_at"] is not None
    assert await ok(client, f"/api/v1/notifications/{done['id']}", admin) == done

    resolved = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={"body": "Fixed."}, headers=admin
    )
    assert resolved.status == 200, await resolved.text()
    events = [n["event"] for n in (await ok(client, path, admin))["data"]]
    assert events == ["incident_resolved", "incident_created"]


async def test_unknown_notifications_and_customers_are_404_and_a_quiet_subject_has_none(
    client: Client, admin: Headers
) -> None:
    missing = await ok(client, "/api/v1/notifications/nope", admin, status=404)
    nobody = await ok(client, "/api/v1/customers/nobody/deliveries", admin, status=404)
    quiet = await ok(client, "/api/v1/subjects/nope/notifications", admin)

    assert missing["status"] == nobody["status"] == 404
    assert quiet == {"data": [], "next_cursor": None}
