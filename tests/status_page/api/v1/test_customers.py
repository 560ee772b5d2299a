from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import provider_events
from notifier.statuses import ChannelName, SuppressionReason
from notifier.tables import AuditEntry, Customer, IdempotencyRecord, Suppression
from tests.conftest import Client, KeyFactory
from tests.notifier.delivery.test_sending import post_incident, run_worker
from tests.status_page.api.v1.customer_helpers import (
    ALICE_TRACES,
    ok,
    table_count,
    tell_alice_and_bob,
    traces,
)
from tests.status_page.api.v1.test_list_queries import Listing, _statements
from tests.status_page.signups import outbox, sign_up
from tests.status_page.test_subscribe import confirm_by_link

Sessions = async_sessionmaker[AsyncSession]

ALICE = {
    "given_name": "Alice",
    "family_name": "Example",
    "email": "alice@example.com",
    "phone": "+81 90-1234-5678",
    "locale": "ja",
    "time_zone": "Asia/Tokyo",
}
ALICE_E164 = "+819012345678"


async def _put(
    client: Client, headers: dict[str, str], external_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.put(f"/api/v1/customers/{external_id}", json=body, headers=headers)
    assert response.status in (200, 201), await response.text()
    customer: dict[str, Any] = await response.json()
    return customer


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


async def _rows(sessions: Sessions) -> list[Customer]:
    async with sessions() as session:
        return list(await session.scalars(select(Customer)))


async def test_put_creates_a_customer_with_201(client: Client, admin: dict[str, str]) -> None:
    response = await client.put("/api/v1/customers/crm-1001", json=ALICE, headers=admin)

    assert response.status == 201
    customer = await response.json()
    assert customer["external_id"] == "crm-1001"
    assert (customer["given_name"], customer["family_name"]) == ("Alice", "Example")
    assert customer["email"] == "alice@example.com"
    assert customer["locale"] == "ja"
    assert customer["time_zone"] == "Asia/Tokyo"
    fetched = await client.get("/api/v1/customers/crm-1001", headers=admin)
    assert fetched.status == 200
    assert await fetched.json() == customer


async def test_it_stores_phone_numbers_in_e164(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    customer = await _put(client, admin, "crm-1001", **ALICE)
    us = await _put(client, admin, "crm-1002", phone="+1 (650) 253-0000")

    assert customer["phone"] == ALICE_E164
    assert us["phone"] == "+16502530000"
    assert sorted(c.phone or "" for c in await _rows(sessions)) == ["+16502530000", ALICE_E164]


async def test_put_again_replaces_the_customer_with_200(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    first = await _put(client, admin, "crm-1001", **ALICE)

    response = await client.put(
        "/api/v1/customers/crm-1001",
        json={"given_name": "Alicia", "phone": "+1 650 253 0000"},
        headers=admin,
    )

    assert response.status == 200
    replaced = await response.json()
    assert replaced["id"] == first["id"]
    assert replaced["created_at"] == first["created_at"]
    assert replaced["given_name"] == "Alicia"
    assert replaced["family_name"] is None
    assert replaced["phone"] == "+16502530000"
    # PUT replaces: what the body leaves out goes back to its default.
    assert replaced["email"] is None
    assert (replaced["locale"], replaced["time_zone"]) == ("en", "UTC")
    assert len(await _rows(sessions)) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "alice@"),
        ("phone", "090-1234-5678"),
        ("phone", "+1 555"),
        ("phone", "call me"),
        ("time_zone", "Mars/Olympus_Mons"),
        ("time_zone", "../../etc/passwd"),
        ("locale", "xx"),
    ],
)
async def test_an_invalid_field_is_a_422_naming_it_and_stores_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions, field: str, value: str
) -> None:
    response = await client.put(
        "/api/v1/customers/crm-1001", json={**ALICE, field: value}, headers=admin
    )

    assert response.status == 422
    assert response.content_type == "application/problem+json"
    errors = (await response.json())["errors"]
    assert [(e["location"], e["field"], e["pointer"]) for e in errors] == [
        ("body", field, f"/{field}")
    ]
    assert await _rows(sessions) == []


async def test_a_422_does_not_change_an_existing_customer(
    client: Client, admin: dict[str, str]
) -> None:
    before = await _put(client, admin, "crm-1001", **ALICE)

    response = await client.put(
        "/api/v1/customers/crm-1001", json={**ALICE, "email": "broken"}, headers=admin
    )

    assert response.status == 422
    after = await (await client.get("/api/v1/customers/crm-1001", headers=admin)).json()
    assert after == before


@pytest.mark.parametrize("external_id", ["has space", "semi;colon", "x" * 201, "ünïcode"])
async def test_an_invalid_external_id_in_the_path_is_a_422(
    client: Client, admin: dict[str, str], sessions: Sessions, external_id: str
) -> None:
    response = await client.put(f"/api/v1/customers/{external_id}", json=ALICE, headers=admin)

    assert response.status == 422
    assert response.content_type == "application/problem+json"
    errors = (await response.json())["errors"]
    assert [(e["location"], e["field"]) for e in errors] == [("path", "external_id")]
    assert await _rows(sessions) == []


async def test_it_answers_404_for_an_unknown_customer(
    client: Client, admin: dict[str, str]
) -> None:
    for method in ("GET", "DELETE"):
        response = await client.request(method, "/api/v1/customers/nobody", headers=admin)
        assert response.status == 404, method
        assert response.content_type == "application/problem+json"


async def test_it_lists_customers_newest_first_a_page_at_a_time(
    client: Client, admin: dict[str, str]
) -> None:
    for number in range(5):
        await _put(client, admin, f"crm-{number}", given_name=f"Customer {number}")

    seen: list[dict[str, Any]] = []
    pages = 0
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/customers", params=params, headers=admin)
        assert response.status == 200
        page = await response.json()
        pages += 1
        assert len(page["data"]) <= 2
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    whole = await (await client.get("/api/v1/customers?limit=100", headers=admin)).json()
    assert seen == whole["data"]
    assert sorted(c["external_id"] for c in seen) == [f"crm-{n}" for n in range(5)]
    created = [c["created_at"] for c in seen]
    assert created == sorted(created, reverse=True)


async def test_an_exact_page_has_no_next_cursor(client: Client, admin: dict[str, str]) -> None:
    for number in range(2):
        await _put(client, admin, f"crm-{number}")

    page = await (await client.get("/api/v1/customers?limit=2", headers=admin)).json()

    assert len(page["data"]) == 2
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("sort=name", "sort")],
)
async def test_a_bad_list_query_is_a_422_naming_the_parameter(
    client: Client, admin: dict[str, str], query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/customers?{query}", headers=admin)

    assert response.status == 422
    errors = (await response.json())["errors"]
    assert [(e["location"], e["field"]) for e in errors] == [("query", field)]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        _cursor(["2026-01-01T00:00:00", "abc"]),  # a time without its zone
        _cursor(["yesterday", "abc"]),
        _cursor({"at": 1}),
    ],
)
async def test_a_forged_cursor_is_a_422_naming_the_cursor(
    client: Client, admin: dict[str, str], cursor: str
) -> None:
    response = await client.get("/api/v1/customers", params={"cursor": cursor}, headers=admin)

    assert response.status == 422
    errors = (await response.json())["errors"]
    assert [(e["location"], e["field"], e["pointer"]) for e in errors] == [
        ("query", "cursor", "/cursor")
    ]


async def test_delete_erases_the_personal_data(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await _put(client, admin, "crm-1001", **ALICE)
    await _put(client, admin, "crm-1002", given_name="Bob")

    response = await client.delete("/api/v1/customers/crm-1001", headers=admin)

    assert response.status == 204
    assert await response.read() == b""
    gone = await client.get("/api/v1/customers/crm-1001", headers=admin)
    assert gone.status == 404
    listed = await (await client.get("/api/v1/customers", headers=admin)).json()
    assert [c["external_id"] for c in listed["data"]] == ["crm-1002"]
    erased = [c for c in await _rows(sessions) if c.erased_at is not None]
    assert len(erased) == 1
    assert (erased[0].external_id, erased[0].given_name, erased[0].email, erased[0].phone) == (
        None,
        None,
        None,
        None,
    )
    again = await client.delete("/api/v1/customers/crm-1001", headers=admin)
    assert again.status == 404


async def test_an_erased_external_id_can_be_used_for_a_new_customer(
    client: Client, admin: dict[str, str]
) -> None:
    old = await _put(client, admin, "crm-1001", **ALICE)
    await client.delete("/api/v1/customers/crm-1001", headers=admin)

    response = await client.put(
        "/api/v1/customers/crm-1001", json={"given_name": "New"}, headers=admin
    )

    assert response.status == 201
    new = await response.json()
    assert new["id"] != old["id"]
    assert new["email"] is None


# Finding a customer: every one has an external_id, and an address finds it


async def _search(client: Client, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/customers/search", json=body, headers=headers)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def test_a_page_subscriber_is_found_by_email_read_exported_and_erased(
    client: Client, admin: dict[str, str], settings: Settings, sessions: Sessions
) -> None:
    await sign_up(client, email="Aiko.Tanaka@Example.com")
    await run_worker(settings)
    [confirmation] = await outbox(client)
    await confirm_by_link(client, confirmation)
    await post_incident(client, admin)
    await run_worker(settings)

    listed = await (await client.get("/api/v1/customers", headers=admin)).json()
    [subscriber] = listed["data"]
    external_id = subscriber["external_id"]
    assert re.fullmatch(r"page_[0-9a-z]{20}", external_id)
    fetched = await client.get(f"/api/v1/customers/{external_id}", headers=admin)
    assert fetched.status == 200
    assert await fetched.json() == subscriber
    deliveries = await client.get(f"/api/v1/customers/{external_id}/deliveries", headers=admin)
    assert deliveries.status == 200
    assert [d["channel"] for d in (await deliveries.json())["data"]] == ["email"]
    # As an erasure request arrives: by address, in any case.
    found = await _search(client, admin, {"email": "AIKO.TANAKA@example.COM"})
    assert found == {"data": [subscriber], "next_cursor": None}

    erased = await client.delete(f"/api/v1/customers/{external_id}", headers=admin)

    assert erased.status == 204
    assert await _search(client, admin, {"email": "aiko.tanaka@example.com"}) == {
        "data": [],
        "next_cursor": None,
    }
    gone = await client.get(f"/api/v1/customers/{external_id}", headers=admin)
    assert gone.status == 404
    [row] = await _rows(sessions)
    assert (row.external_id, row.email, row.erased_at is not None) == (None, None, True)


async def test_a_phone_number_in_any_international_form_finds_its_customers(
    client: Client, admin: dict[str, str]
) -> None:
    alice = await _put(client, admin, "crm-1001", **ALICE)
    await _put(client, admin, "crm-1002", phone="+1 650 253 0000")

    for spelling in ("+81 90-1234-5678", "+819012345678", "+81 (90) 1234 5678"):
        found = await _search(client, admin, {"phone": spelling})
        assert found == {"data": [alice], "next_cursor": None}, spelling
    nobody = await _search(client, admin, {"phone": "+81 90 8765 4321"})
    assert nobody["data"] == []


async def test_a_search_answers_a_page_at_a_time_newest_first(
    client: Client, admin: dict[str, str]
) -> None:
    for n in range(3):
        await _put(client, admin, f"crm-{n}", email="shared@example.com")
    await _put(client, admin, "crm-other", email="other@example.com")

    first = await _search(client, admin, {"email": "shared@example.com", "limit": 2})
    rest = await _search(
        client, admin, {"email": "shared@example.com", "limit": 2, "cursor": first["next_cursor"]}
    )

    assert [c["external_id"] for c in first["data"]] == ["crm-2", "crm-1"]
    assert [c["external_id"] for c in rest["data"]] == ["crm-0"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "a@example.com", "phone": ALICE_E164}, "phone"),
        ({"email": None}, "email"),
        ({"phone": None}, "phone"),
        ({"email": "not an address"}, "email"),
        ({"phone": "090-1234-5678"}, "phone"),
        ({"phone": "+81 90 1234 5678", "given_name": "Alice"}, "given_name"),
        ({"email": "a@example.com", "limit": 0}, "limit"),
    ],
)
async def test_a_search_needs_exactly_one_valid_email_or_phone(
    client: Client, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/customers/search", json=body, headers=admin)

    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("body", field)]


async def test_searching_needs_the_customers_read_scope(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    await _put(client, admin, "crm-1001", **ALICE)
    body = {"email": "alice@example.com"}

    for scope in ("read", "incidents:write", "components:write", "customers:write"):
        response = await client.post(
            "/api/v1/customers/search", json=body, headers=await make_key(scope)
        )
        assert response.status == 403, scope
        assert "alice" not in (await response.text()).lower()
    reader = await make_key("customers:read")
    found = await _search(client, reader, body)
    assert [c["external_id"] for c in found["data"]] == ["crm-1001"]


async def test_a_search_keeps_the_address_out_of_logs_and_stored_replays(
    client: Client,
    admin: dict[str, str],
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await _put(client, admin, "crm-1001", **ALICE)
    headers = admin | {"Idempotency-Key": "search-1"}

    for body in ({"email": "alice@example.com"}, {"phone": ALICE_E164}, {"phone": "+1 555"}):
        await client.post("/api/v1/customers/search", json=body, headers=headers)

    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.__dict__}"
        for r in caplog.records
        if r.name != "aiosqlite"
    )
    assert "POST /api/v1/customers/search" in logged  # the capture saw the requests
    for secret in ("alice@example.com", ALICE_E164, "+1 555"):
        assert secret not in logged
    async with sessions() as session:
        # A search is no change to replay: its answer, addresses and all, is not kept.
        assert list(await session.scalars(select(IdempotencyRecord))) == []
        assert [e.action for e in await session.scalars(select(AuditEntry))] == ["customer.upsert"]


# Scopes


async def test_reading_customers_needs_the_customers_read_scope(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    await _put(client, admin, "crm-1001", **ALICE)
    reader = await make_key("customers:read")

    for path in ("/api/v1/customers", "/api/v1/customers/crm-1001"):
        assert (await client.get(path, headers=reader)).status == 200, path
        for scope in ("read", "incidents:write", "components:write"):
            response = await client.get(path, headers=await make_key(scope))
            assert response.status == 403, (scope, path)
            assert response.content_type == "application/problem+json"
            assert "alice" not in (await response.text()).lower()


async def test_changing_customers_needs_the_customers_write_scope(
    client: Client, admin: dict[str, str], make_key: KeyFactory, sessions: Sessions
) -> None:
    await _put(client, admin, "crm-1001", **ALICE)

    for scope in ("read", "customers:read", "incidents:write"):
        headers = await make_key(scope)
        put = await client.put("/api/v1/customers/crm-2", json=ALICE, headers=headers)
        deleted = await client.delete("/api/v1/customers/crm-1001", headers=headers)
        assert (put.status, deleted.status) == (403, 403), scope

    rows = await _rows(sessions)
    assert [(c.external_id, c.email) for c in rows] == [("crm-1001", "alice@example.com")]
    writer = await make_key("customers:write")
    created = await client.put("/api/v1/customers/crm-2", json=ALICE, headers=writer)
    assert created.status == 201


# Privacy


async def test_no_email_or_phone_number_reaches_the_logs_or_the_audit_log(
    client: Client,
    admin: dict[str, str],
    make_key: KeyFactory,
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reader = await make_key("read")

    await _put(client, admin, "crm-1001", **ALICE)
    await _put(client, admin, "crm-1001", **{**ALICE, "given_name": "Alice Again"})
    await client.put("/api/v1/customers/crm-1001", json={**ALICE, "phone": "+1 555"}, headers=admin)
    await client.put("/api/v1/customers/crm-1001", json={**ALICE, "extra": 1}, headers=admin)
    await client.put("/api/v1/customers/crm-1001", json=ALICE, headers=reader)
    await client.get("/api/v1/customers/crm-1001", headers=admin)
    await client.get("/api/v1/customers", headers=admin)
    await client.delete("/api/v1/customers/crm-1001", headers=admin)

    secrets = ["alice@example.com", ALICE_E164, "90-1234-5678", "+1 555", "Alice"]
    # aiosqlite traces every statement with its parameters at DEBUG: a driver's own
    # tracing, silenced by any INFO configuration, so it is left out here.
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.__dict__}"
        for r in caplog.records
        if r.name != "aiosqlite"
    )
    assert "PUT /api/v1/customers/crm-1001" in logged  # the capture saw the requests
    for secret in secrets:
        assert secret not in logged
    async with sessions() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.at)))
    assert [e.action for e in entries] == [
        "customer.upsert",
        "customer.upsert",
        "customer.erase",
    ]
    assert entries[0].changes == {
        "fields": ["email", "family_name", "given_name", "locale", "phone", "time_zone"]
    }
    audited = json.dumps([(e.target_id, e.changes) for e in entries])
    for secret in [*secrets, "crm-1001"]:
        assert secret not in audited


async def test_an_empty_cursor_means_the_first_page(client: Client, admin: dict[str, str]) -> None:
    await _put(client, admin, "crm-1")

    response = await client.get("/api/v1/customers?cursor=", headers=admin)

    assert response.status == 200
    assert [c["external_id"] for c in (await response.json())["data"]] == ["crm-1"]


async def test_concurrent_puts_of_a_new_customer_create_it_once(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    # Used once first, so that the key's last_used_at write does not queue the requests.
    assert (await client.get("/api/v1/customers", headers=admin)).status == 200

    responses = await asyncio.gather(
        *(
            client.put("/api/v1/customers/crm-race", json={"given_name": f"N{n}"}, headers=admin)
            for n in range(4)
        )
    )

    assert sorted(r.status for r in responses) == [200, 200, 200, 201]
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert [c.external_id for c in await _rows(sessions)] == ["crm-race"]


# One view of the customer: timeline, export, erasure (issue 12, behaviour 10)


async def test_the_timeline_has_each_notification_of_the_customer_with_its_deliveries(
    client: Client, admin: dict[str, str], settings: Settings, sessions: Sessions
) -> None:
    story = await tell_alice_and_bob(client, admin, settings, sessions)

    alice = await ok(await client.get("/api/v1/customers/crm-alice/timeline", headers=admin))
    bob = await ok(await client.get("/api/v1/customers/crm-bob/timeline", headers=admin))

    assert alice["next_cursor"] is None
    problem, incident = alice["data"]  # newest first
    assert (problem["kind"], problem["subject"]) == (
        "problem_update",
        {"id": story.problem_id, "title": "Parcel ORD-77 is late"},
    )
    assert problem["update"]["status"] == "open"
    assert (incident["kind"], incident["subject"]) == (
        "incident_update",
        {"id": story.incident_id, "title": "Checkout errors"},
    )
    assert incident["update"]["status"] == "investigating"
    assert incident["update"]["at"] is not None
    by_channel = {d["channel"]: d for d in incident["deliveries"]}
    assert sorted(by_channel) == ["email", "inapp", "sms"]
    assert by_channel["email"]["status"] == "bounced"
    assert by_channel["email"]["last_error"].startswith("bounce: 550 5.1.1")
    assert by_channel["sms"]["status"] == "sent"
    assert by_channel["sms"]["attempts"] == 1
    assert by_channel["sms"]["sent_at"] is not None
    # The problem's in-app message is the newest in her inbox: the one she read.
    assert {d["channel"]: d["read_at"] is not None for d in problem["deliveries"]} == {
        "email": False,
        "inapp": True,
        "sms": False,
    }
    assert by_channel["inapp"]["read_at"] is None
    # Bob heard of the incident only, by email, and none of Alice's deliveries shows.
    [bobs] = bob["data"]
    assert bobs["notification_id"] == incident["notification_id"]
    assert [d["channel"] for d in bobs["deliveries"]] == ["email"]
    alices = {d["id"] for e in alice["data"] for d in e["deliveries"]}
    assert bobs["deliveries"][0]["id"] not in alices


async def test_the_timeline_comes_a_page_at_a_time(
    client: Client, admin: dict[str, str], settings: Settings, sessions: Sessions
) -> None:
    await tell_alice_and_bob(client, admin, settings, sessions)
    whole = await ok(await client.get("/api/v1/customers/crm-alice/timeline", headers=admin))

    path = "/api/v1/customers/crm-alice/timeline"
    first = await ok(await client.get(path, params={"limit": "1"}, headers=admin))
    second = await ok(
        await client.get(path, params={"limit": "1", "cursor": first["next_cursor"]}, headers=admin)
    )

    assert first["next_cursor"] is not None
    assert second["next_cursor"] is None
    assert first["data"] + second["data"] == whole["data"]
    forged = await client.get(path, params={"cursor": "not-a-cursor"}, headers=admin)
    assert forged.status == 422
    assert [e["field"] for e in (await forged.json())["errors"]] == ["cursor"]


async def test_a_timeline_page_of_20_costs_the_statements_of_a_page_of_1(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    await _put(client, admin, "crm-1", email="one@example.com", phone="+1 650 253 0000",
               consent={"channels": ["email", "sms"], "legal_basis": "contract"},
               follows={"page": True})  # fmt: skip
    for number in range(21):
        body = {"title": f"Outage {number}", "body": "Looking."}
        await ok(await client.post("/api/v1/incidents", json=body, headers=admin), 201)
    await run_worker(settings)

    path = "/api/v1/customers/crm-1/timeline"
    one = await _statements(client, admin, Listing("GET", path + "?limit=1", _no_seed), 1)
    twenty = await _statements(client, admin, Listing("GET", path + "?limit=20", _no_seed), 20)

    assert twenty == one


async def _no_seed(client: Client, headers: dict[str, str], number: int) -> None:
    raise AssertionError("seeded by the test")


async def test_the_export_holds_everything_about_the_customer_and_nothing_of_others(
    client: Client, admin: dict[str, str], settings: Settings, sessions: Sessions
) -> None:
    story = await tell_alice_and_bob(client, admin, settings, sessions)

    response = await client.get("/api/v1/customers/crm-alice/export", headers=admin)

    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    data = await response.json()
    raw = json.dumps(data)
    assert "bob@example.com" not in raw
    assert "Other" not in raw
    customer = data["customer"]
    assert (
        customer["external_id"],
        customer["given_name"],
        customer["family_name"],
        customer["email"],
        customer["phone"],
    ) == ("crm-alice", "Alice", "Example", "alice@example.com", ALICE_E164)
    assert (customer["inapp_user_id"], customer["locale"], customer["time_zone"]) == (
        "alice-app-7",
        "ja",
        "Asia/Tokyo",
    )
    assert customer["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    assert [(c["channel"], c["method"], c["legal_basis"]) for c in data["consents"]] == [
        ("email", "imported", "contract"),
        ("inapp", "in_app_identity", ""),
        ("sms", "imported", "contract"),
    ]
    assert all(c["confirmed_at"] and not c["revoked_at"] for c in data["consents"])
    assert [(f["component_id"], f["component_name"]) for f in data["follows"]] == [(None, None)]
    assert [(s["kind"], s["channel"], s["address"]) for s in data["signups"]] == [
        ("already", "email", "alice@example.com")
    ]
    assert sorted((s["channel"], s["address"], s["reason"]) for s in data["suppressions"]) == [
        ("email", "alice@example.com", "bounce"),
        ("sms", ALICE_E164, "stop"),
    ]
    assert sorted((d["channel"], d["status"]) for d in data["deliveries"]) == [
        ("email", "bounced"),
        ("email", "sent"),
        ("inapp", "delivered"),
        ("inapp", "delivered"),
        ("sms", "sent"),
        ("sms", "sent"),
    ]
    assert sorted(m["read_at"] is not None for m in data["inbox_messages"]) == [False, True]
    assert all(m["title"] and m["body"] for m in data["inbox_messages"])
    # Four deliveries by email and SMS, and the "already subscribed" email.
    assert sorted(m["to"] for m in data["outbox_messages"]) == sorted(
        ["alice@example.com"] * 3 + [ALICE_E164] * 2
    )
    assert [(p["id"], p["reference"]) for p in data["delivery_problems"]] == [
        (story.problem_id, "ORD-77")
    ]
    assert [e["action"] for e in data["audit_log"]] == ["customer.upsert"]
    assert datetime.fromisoformat(data["exported_at"]).tzinfo is not None
    # The export is itself audited: who took a customer's data, and when.
    async with sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "customer.export" in actions


async def test_erasure_leaves_no_trace_of_the_customer_and_keeps_the_counts(
    client: Client, admin: dict[str, str], settings: Settings, sessions: Sessions
) -> None:
    story = await tell_alice_and_bob(client, admin, settings, sessions)
    counts_path = f"/api/v1/subjects/{story.incident_id}/notifications"
    before = await ok(await client.get(counts_path, headers=admin))
    problem_before = await ok(
        await client.get(f"/api/v1/subjects/{story.problem_id}/notifications", headers=admin)
    )
    assert await traces(sessions, ALICE_TRACES)  # the scan finds what is there

    erased = await client.delete("/api/v1/customers/crm-alice", headers=admin)

    assert erased.status == 204
    assert await traces(sessions, ALICE_TRACES) == []
    # Counts of what was sent stay, and Bob keeps everything.
    assert await ok(await client.get(counts_path, headers=admin)) == before
    assert (
        await ok(
            await client.get(f"/api/v1/subjects/{story.problem_id}/notifications", headers=admin)
        )
        == problem_before
    )
    assert await traces(sessions, ("bob@example.com", "Other")) != []
    bob = await ok(await client.get("/api/v1/customers/crm-bob/timeline", headers=admin))
    assert len(bob["data"]) == 1
    # The suppressions stay, as keyed hashes.
    assert await table_count(sessions, "suppressions") == 2
    # The external_id names no one now: the export and the timeline are 404.
    for what in ("export", "timeline"):
        gone = await client.get(f"/api/v1/customers/crm-alice/{what}", headers=admin)
        assert gone.status == 404
        assert gone.content_type == "application/problem+json"


async def test_an_erased_address_that_comes_back_is_still_suppressed(
    client: Client, admin: dict[str, str], settings: Settings, sessions: Sessions
) -> None:
    await tell_alice_and_bob(client, admin, settings, sessions)
    await client.delete("/api/v1/customers/crm-alice", headers=admin)

    body = {
        "email": "alice@example.com",
        "phone": "+81 90 1234 5678",
        "consent": {"channels": ["email", "sms"], "legal_basis": "contract"},
        "follows": {"page": True},
    }
    await _put(client, admin, "crm-alice-again", **body)
    await ok(
        await client.post(
            "/api/v1/incidents", json={"title": "Again", "body": "Looking."}, headers=admin
        ),
        201,
    )
    await run_worker(settings)

    timeline = await ok(
        await client.get("/api/v1/customers/crm-alice-again/timeline", headers=admin)
    )
    [entry] = timeline["data"]
    assert {d["channel"]: (d["status"], d["last_error"]) for d in entry["deliveries"]} == {
        "email": ("suppressed", "address suppressed: bounce"),
        "sms": ("suppressed", "address suppressed: stop"),
    }


@pytest.mark.parametrize("what", ["timeline", "export"])
async def test_an_unknown_customer_has_no_timeline_nor_export(
    client: Client, admin: dict[str, str], what: str
) -> None:
    response = await client.get(f"/api/v1/customers/nobody/{what}", headers=admin)

    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert (await response.json())["status"] == 404


@pytest.mark.parametrize("what", ["timeline", "export"])
async def test_the_timeline_and_export_need_the_customers_read_scope(
    client: Client, admin: dict[str, str], make_key: KeyFactory, what: str
) -> None:
    await _put(client, admin, "crm-1001", **ALICE)
    path = f"/api/v1/customers/crm-1001/{what}"
    reader = await make_key("read")
    allowed = await make_key("customers:read")

    anonymous = await client.get(path)
    refused = await client.get(path, headers=reader)
    granted = await client.get(path, headers=allowed)

    assert anonymous.status == 401
    assert refused.status == 403
    assert refused.content_type == "application/problem+json"
    assert granted.status == 200


async def test_concurrent_puts_bringing_back_an_erased_address_re_arm_it_once(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await _put(client, admin, "crm-gone", email="gone@example.com", phone="+81 90 1234 5678")
    async with sessions() as session, session.begin():
        for channel, address, reason in (
            (ChannelName.email, "gone@example.com", SuppressionReason.bounce),
            (ChannelName.sms, "+819012345678", SuppressionReason.stop),
        ):
            await provider_events.suppress(session, channel, address, reason, now=utcnow())
    assert (await client.delete("/api/v1/customers/crm-gone", headers=admin)).status == 204
    body = {"email": "gone@example.com", "phone": "+81 90 1234 5678"}
    # Used once first, so that the key's last_used_at write does not queue the requests.
    assert (await client.get("/api/v1/customers", headers=admin)).status == 200

    # The same new customer twice, and two others with the same addresses, all at once.
    responses = await asyncio.gather(
        *(
            client.put(f"/api/v1/customers/{external_id}", json=body, headers=admin)
            for external_id in ("crm-back", "crm-back", "crm-other-1", "crm-other-2")
        )
    )

    assert sorted(r.status for r in responses) == [200, 201, 201, 201], [
        await r.text() for r in responses
    ]
    async with sessions() as session:
        rows = await session.scalars(select(Suppression).order_by(Suppression.channel))
        assert [(s.channel, s.address, s.reason) for s in rows] == [
            ("email", "gone@example.com", "bounce"),
            ("sms", "+819012345678", "stop"),
        ]
