"""Hostile input to the ops API gets a 4xx problem naming the field and changes nothing.

Each input here was found by schemathesis (issue 10) and was a 500 on PostgreSQL, was
stored, or was accepted against the document; test_fuzz.py looks for their kin.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Client
from tests.status_page.api.records import rows_by_table

Sessions = async_sessionmaker[AsyncSession]
PROBLEM = "application/problem+json"
INT32_MAX = 2**31 - 1


async def _errors(response: Any, status: int = 422) -> list[tuple[str, str, str]]:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM
    problem = await response.json()
    assert problem["status"] == status
    return [(e["location"], e["field"], e["pointer"]) for e in problem["errors"]]


async def _create(client: Client, admin: dict[str, str], path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/{path}", json=body, headers=admin)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


# NUL and control characters


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/components", {"name": "a\u0000"}, "name"),
        ("POST", "/api/v1/components", {"name": "API", "description": "a\u0000b"}, "description"),
        ("POST", "/api/v1/component-groups", {"name": "Core\u0000"}, "name"),
        ("POST", "/api/v1/incidents", {"title": "Down", "body": "Looking\u0000"}, "body"),
        ("POST", "/api/v1/incidents", {"title": "Login \u0001 errors", "body": "x"}, "title"),
        (
            "POST",
            "/api/v1/incidents",
            {"title": "x\r\nBcc: someone@example.test", "body": "x"},
            "title",
        ),
        ("POST", "/api/v1/incidents", {"title": "Tab\there", "body": "x"}, "title"),
        ("POST", "/api/v1/incidents", {"title": "Next line \u0085", "body": "x"}, "title"),
        ("POST", "/api/v1/incidents", {"title": "Not a character \ufffe", "body": "x"}, "title"),
        (
            "POST",
            "/api/v1/maintenance",
            {
                "title": "Upgrade\u0007",
                "body": "x",
                "scheduled_for": "2030-01-01T10:00:00Z",
                "scheduled_until": "2030-01-01T11:00:00Z",
            },
            "title",
        ),
        (
            "POST",
            "/api/v1/delivery-problems",
            {"reference": "ORD\u00001", "kind": "lost", "body": "x", "customers": ["c-1"]},
            "reference",
        ),
        ("PUT", "/api/v1/customers/crm-1", {"given_name": "Alice\u0000"}, "given_name"),
        ("PUT", "/api/v1/customers/crm-1", {"inapp_user_id": "u\u001b1"}, "inapp_user_id"),
        (
            "PUT",
            "/api/v1/customers/crm-1",
            {"consent": {"channels": ["email"], "legal_basis": "contract\u0000"}},
            "consent.legal_basis",
        ),
    ],
)
async def test_a_control_character_in_text_is_a_422_naming_the_field(
    client: Client,
    admin: dict[str, str],
    sessions: Sessions,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await rows_by_table(sessions)

    response = await client.request(method, path, json=body, headers=admin)

    pointer = "/" + field.replace(".", "/")
    assert await _errors(response) == [("body", field, pointer)]
    assert "U+" in (await response.json())["errors"][0]["detail"]
    assert await rows_by_table(sessions) == before


async def test_markdown_bodies_keep_tabs_and_line_breaks(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await _create(
        client, admin, "incidents", title="  Checkout down  ", body="Steps:\n\n\t1. look\r\n"
    )

    assert incident["title"] == "Checkout down"
    assert incident["updates"][0]["body"] == "Steps:\n\n\t1. look"


async def test_the_feeds_still_answer_after_a_refused_control_character(
    client: Client, admin: dict[str, str]
) -> None:
    refused = await client.post(
        "/api/v1/incidents", json={"title": "Login \u0001 errors", "body": "x"}, headers=admin
    )
    assert refused.status == 422

    for feed in ("/feed.atom", "/feed.rss"):
        assert (await client.get(feed)).status == 200


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/delivery-problems?reference=a%00b", "reference"),
        ("/api/v1/incidents?component_id=%00", "component_id"),
        ("/api/v1/audit-log?target_id=x%01", "target_id"),
        ("/api/v1/customers?cursor=%00", "cursor"),
    ],
)
async def test_a_control_character_in_a_query_parameter_is_a_422_naming_it(
    client: Client, admin: dict[str, str], path: str, field: str
) -> None:
    response = await client.get(path, headers=admin)

    assert await _errors(response) == [("query", field, f"/{field}")]


@pytest.mark.parametrize(
    "path", ["/api/v1/components/a%00b", "/api/v1/incidents/x%0A", "/api/v1/customers/crm%001"]
)
async def test_a_path_id_no_record_can_have_is_a_404_without_a_query(
    client: Client, admin: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=admin)

    assert response.status == 404
    assert response.content_type == PROBLEM


async def test_a_put_to_an_id_no_customer_can_have_is_a_422_naming_it(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    before = await rows_by_table(sessions)

    response = await client.put("/api/v1/customers/a%00b", json={}, headers=admin)

    assert await _errors(response) == [("path", "external_id", "/external_id")]
    assert await rows_by_table(sessions) == before


# Numbers beyond their column, and JSON types as the document states them


@pytest.mark.parametrize("position", [INT32_MAX + 1, -INT32_MAX - 2, 10**30, 1e300])
async def test_a_position_beyond_its_column_is_a_422_naming_it(
    client: Client, admin: dict[str, str], sessions: Sessions, position: float
) -> None:
    group = await _create(client, admin, "component-groups", name="Core")
    before = await rows_by_table(sessions)

    created = await client.post(
        "/api/v1/components", json={"name": "a", "position": position}, headers=admin
    )
    grouped = await client.post(
        "/api/v1/component-groups", json={"name": "b", "position": position}, headers=admin
    )
    patched = await client.patch(
        f"/api/v1/component-groups/{group['id']}", json={"position": position}, headers=admin
    )

    for response in (created, grouped, patched):
        assert await _errors(response) == [("body", "position", "/position")]
    assert await rows_by_table(sessions) == before
    kept = await client.get(f"/api/v1/component-groups/{group['id']}", headers=admin)
    assert (await kept.json())["position"] == 0


async def test_the_column_bounds_themselves_are_accepted(
    client: Client, admin: dict[str, str]
) -> None:
    top = await _create(client, admin, "components", name="top", position=INT32_MAX)
    bottom = await _create(client, admin, "components", name="bottom", position=-INT32_MAX - 1)
    whole = await _create(client, admin, "components", name="whole", position=3.0)

    assert (top["position"], bottom["position"], whole["position"]) == (
        INT32_MAX,
        -INT32_MAX - 1,
        3,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a", "position": False}, "position"),
        ({"name": "a", "position": "2"}, "position"),
        ({"name": "a", "position": 1.5}, "position"),
        ({"name": "a", "visible": 0}, "visible"),
        ({"name": "a", "visible": "true"}, "visible"),
        ({"name": 7}, "name"),
    ],
)
async def test_a_value_of_another_json_type_is_a_422(
    client: Client, admin: dict[str, str], sessions: Sessions, body: dict[str, Any], field: str
) -> None:
    before = await rows_by_table(sessions)

    response = await client.post("/api/v1/components", json=body, headers=admin)

    assert await _errors(response) == [("body", field, f"/{field}")]
    assert await rows_by_table(sessions) == before


@pytest.mark.parametrize("started_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_a_time_utc_cannot_hold_is_a_422_naming_it(
    client: Client, admin: dict[str, str], sessions: Sessions, started_at: str
) -> None:
    before = await rows_by_table(sessions)

    response = await client.post(
        "/api/v1/incidents",
        json={"title": "Down", "body": "x", "started_at": started_at},
        headers=admin,
    )

    assert await _errors(response) == [("body", "started_at", "/started_at")]
    assert await rows_by_table(sessions) == before


# Bodies the document requires


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/v1/components/{component}"),
        ("PATCH", "/api/v1/component-groups/{group}"),
        ("PATCH", "/api/v1/incidents/{incident}"),
        ("PUT", "/api/v1/customers/crm-1"),
    ],
)
async def test_a_patch_or_put_without_a_body_is_a_422_about_the_body(
    client: Client, admin: dict[str, str], sessions: Sessions, method: str, path: str
) -> None:
    ids = {
        "component": (await _create(client, admin, "components", name="API"))["id"],
        "group": (await _create(client, admin, "component-groups", name="Core"))["id"],
        "incident": (await _create(client, admin, "incidents", title="Down", body="x"))["id"],
    }
    before = await rows_by_table(sessions)

    response = await client.request(method, path.format(**ids), headers=admin)

    assert await _errors(response) == [("body", "", "")]
    assert await rows_by_table(sessions) == before
    assert (await client.get("/api/v1/customers/crm-1", headers=admin)).status == 404


@pytest.mark.parametrize("field", ["name", "position", "visible"])
async def test_null_for_a_field_a_patch_keeps_is_a_422(
    client: Client, admin: dict[str, str], field: str
) -> None:
    component = await _create(client, admin, "components", name="API", position=3)

    response = await client.patch(
        f"/api/v1/components/{component['id']}", json={field: None}, headers=admin
    )

    assert await _errors(response) == [("body", field, f"/{field}")]
    kept = await client.get(f"/api/v1/components/{component['id']}", headers=admin)
    assert await kept.json() == component


# The Idempotency-Key's stated rule


@pytest.mark.parametrize("key", ["", " ", "k" * 256, "caf\u00e9", "tab\tinside"])
async def test_an_idempotency_key_outside_its_rule_is_a_400_naming_the_header(
    client: Client, admin: dict[str, str], sessions: Sessions, key: str
) -> None:
    before = await rows_by_table(sessions)

    response = await client.post(
        "/api/v1/components",
        json={"name": "API"},
        headers={**admin, "Idempotency-Key": key.encode().decode("latin-1")},
    )

    assert await _errors(response, 400) == [("header", "Idempotency-Key", "/Idempotency-Key")]
    assert await rows_by_table(sessions) == before


async def test_an_idempotency_key_of_255_printable_characters_is_accepted(
    client: Client, admin: dict[str, str]
) -> None:
    key = "a b~" + "k" * 250 + "!"

    first = await client.post(
        "/api/v1/components", json={"name": "API"}, headers={**admin, "Idempotency-Key": key}
    )
    again = await client.post(
        "/api/v1/components", json={"name": "API"}, headers={**admin, "Idempotency-Key": key}
    )

    assert (first.status, again.status) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"


# Cursors: every text of the documented shape is a position


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/incidents?cursor=9999999999999999.zzzzzzzzzzzzzzzzzz",
        "/api/v1/audit-log?cursor=0.0",
        "/api/v1/customers?cursor=",
        "/api/v1/customers/crm-1/deliveries?cursor=9324189305472091.325953179806434572",
    ],
)
async def test_a_cursor_of_the_documented_shape_is_a_page(
    client: Client, admin: dict[str, str], path: str
) -> None:
    created = await client.put("/api/v1/customers/crm-1", json={}, headers=admin)
    assert created.status == 201

    response = await client.get(path, headers=admin)

    assert response.status == 200, await response.text()
    assert (await response.json())["next_cursor"] is None


async def test_a_cursor_of_another_shape_is_a_422_naming_it(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/customers/crm-1/deliveries?cursor=1.abc", headers=admin)

    assert await _errors(response) == [("query", "cursor", "/cursor")]


# A literal path is its own resource


async def test_the_search_path_is_not_a_customer(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    before = await rows_by_table(sessions)

    put = await client.put("/api/v1/customers/search", json={}, headers=admin)
    options = await client.options("/api/v1/customers/search", headers=admin)

    # Only POST is documented at /customers/search, and only POST is allowed there.
    for response in (put, options):
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
    assert await rows_by_table(sessions) == before
    other = await client.options("/api/v1/customers/searching", headers=admin)
    assert set(other.headers["Allow"].split(",")) == {"DELETE", "GET", "PUT"}
