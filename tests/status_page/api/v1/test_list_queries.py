"""A list costs the same number of SQL statements for a page of 1 item as for 20.

Each list endpoint is read with one item, then with twenty; the statements the
engine sends (SQLAlchemy's ``before_cursor_execute``) are counted for the
second of two identical requests, so that a key's ``last_used_at`` write or a
new connection's set-up counts for neither. A per-item query (N+1) makes the
counts differ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from status_page import keys
from tests.conftest import Client

Headers = dict[str, str]
Seed = Callable[[Client, Headers, int], Awaitable[None]]


@contextmanager
def _counting(client: Client) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = client.app[keys.ENGINE].sync_engine

    def count(*args: Any) -> None:
        statements.append(args[2])  # (conn, cursor, statement, parameters, context, many)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _ok(response: Any) -> Any:
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def _component(client: Client, headers: Headers, number: int) -> str:
    body = {"name": f"Component {number}"}
    component = await _ok(await client.post("/api/v1/components", json=body, headers=headers))
    return str(component["id"])


async def _plain_component(client: Client, headers: Headers, number: int) -> None:
    await _component(client, headers, number)


async def _customer(client: Client, headers: Headers, number: int) -> None:
    body = {
        "email": "shared@example.com",
        "consent": {"channels": ["email"], "legal_basis": "contract"},
        "follows": {"page": True},
    }
    await _ok(await client.put(f"/api/v1/customers/crm-{number}", json=body, headers=headers))


async def _incident(client: Client, headers: Headers, number: int) -> None:
    component = await _component(client, headers, number)
    body = {
        "title": f"Outage {number}",
        "body": "Investigating.",
        "components": [{"component_id": component}],
        "notify": False,
    }
    await _ok(await client.post("/api/v1/incidents", json=body, headers=headers))


async def _maintenance(client: Client, headers: Headers, number: int) -> None:
    component = await _component(client, headers, number)
    start = datetime.now(UTC) + timedelta(days=1 + number)
    body = {
        "title": f"Upgrade {number}",
        "body": "Planned.",
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        "components": [component],
        "notify": False,
    }
    await _ok(await client.post("/api/v1/maintenance", json=body, headers=headers))


async def _problem(client: Client, headers: Headers, number: int) -> None:
    await _customer(client, headers, number)
    body = {
        "reference": f"ORD-{number}",
        "kind": "delayed",
        "body": "Your order is late.",
        "customers": [f"crm-{number}"],
        "notify": False,
    }
    await _ok(await client.post("/api/v1/delivery-problems", json=body, headers=headers))


async def _group(client: Client, headers: Headers, number: int) -> None:
    component = await _component(client, headers, number)
    body = {"name": f"Group {number}", "components": [component]}
    await _ok(await client.post("/api/v1/component-groups", json=body, headers=headers))


async def _update(client: Client, headers: Headers, number: int) -> None:
    # Every update notifies: the subject's notifications are the list.
    if number == 0:
        body = {"title": "The subject", "body": "Investigating.", "notify": True}
        await _ok(await client.post("/api/v1/incidents", json=body, headers=headers))
        return
    incident = (await _ok(await client.get("/api/v1/incidents", headers=headers)))["data"][0]
    body = {"status": "identified", "body": f"Update {number}.", "notify": True}
    path = f"/api/v1/incidents/{incident['id']}/updates"
    await _ok(await client.post(path, json=body, headers=headers))


async def _subject_notifications(client: Client, headers: Headers) -> str:
    incident = (await _ok(await client.get("/api/v1/incidents", headers=headers)))["data"][0]
    return f"/api/v1/subjects/{incident['id']}/notifications"


@dataclass(frozen=True)
class Listing:
    method: str
    path: str
    seed: Seed
    body: dict[str, Any] | None = None
    # For a path that names a record the seed makes.
    locate: Callable[[Client, Headers], Awaitable[str]] | None = None


LISTINGS = {
    "customers": Listing("GET", "/api/v1/customers", _customer),
    "customer search": Listing(
        "POST", "/api/v1/customers/search", _customer, body={"email": "shared@example.com"}
    ),
    "incidents": Listing("GET", "/api/v1/incidents", _incident),
    "maintenance": Listing("GET", "/api/v1/maintenance", _maintenance),
    "delivery problems": Listing("GET", "/api/v1/delivery-problems", _problem),
    "component groups": Listing("GET", "/api/v1/component-groups", _group),
    "components": Listing("GET", "/api/v1/components", _plain_component),
    "audit log": Listing("GET", "/api/v1/audit-log", _customer),
    "a subject's notifications": Listing("GET", "", _update, locate=_subject_notifications),
}


async def _statements(client: Client, headers: Headers, listing: Listing, items: int) -> int:
    path = await listing.locate(client, headers) if listing.locate else listing.path
    for measured in (False, True):
        with _counting(client) as statements:
            response = await client.request(
                listing.method, path, json=listing.body, headers=headers
            )
            page = await _ok(response)
        if measured:
            assert len(page["data"]) == items
            return len(statements)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("name", LISTINGS)
async def test_a_page_of_20_costs_the_statements_of_a_page_of_1(
    client: Client, admin: Headers, name: str
) -> None:
    listing = LISTINGS[name]
    await listing.seed(client, admin, 0)
    one = await _statements(client, admin, listing, 1)
    for number in range(1, 20):
        await listing.seed(client, admin, number)

    twenty = await _statements(client, admin, listing, 20)

    assert twenty == one, f"{name}: {one} statements for 1 item, {twenty} for 20"
