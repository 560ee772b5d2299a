from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import api_keys
from notifier.db import utcnow
from notifier.tables import Component, IdempotencyRecord, Incident
from tests.conftest import Client, KeyFactory
from tests.status_page.api.records import count_rows

Sessions = async_sessionmaker[AsyncSession]
PROBLEM = "application/problem+json"


async def _names(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        return sorted(await session.scalars(select(Component.name)))


# Authentication


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer   ",
        "Basic dXNlcjpwYXNz",
        "fw_notakeyatall",
        "Bearer fw_notakeyatall",
    ],
)
async def test_a_missing_or_wrong_key_is_a_401_with_a_challenge(
    client: Client, sessions: Sessions, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    listed = await client.get("/api/v1/components", headers=headers)
    posted = await client.post("/api/v1/components", json={"name": "X"}, headers=headers)

    for response in (listed, posted):
        assert response.status == 401
        assert response.content_type == PROBLEM
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="forewarn"'
        problem = await response.json()
        assert (problem["status"], problem["title"]) == (401, "Unauthorized")
        assert problem["instance"] == "/api/v1/components"
        assert "fw_notakeyatall" not in await response.text()
    assert await count_rows(sessions, Component) == 0


async def test_a_revoked_key_is_a_401(
    client: Client, make_key: KeyFactory, sessions: Sessions
) -> None:
    headers = await make_key("admin", name="leaked")
    assert (await client.get("/api/v1/components", headers=headers)).status == 200
    secret = headers["Authorization"].removeprefix("Bearer ")
    async with sessions() as session, session.begin():
        await api_keys.revoke_key(session, secret[:10], now=utcnow())

    response = await client.post("/api/v1/components", json={"name": "X"}, headers=headers)

    assert response.status == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in (await response.json())["detail"]
    assert await count_rows(sessions, Component) == 0


async def test_the_bearer_scheme_is_case_insensitive(client: Client, make_key: KeyFactory) -> None:
    headers = await make_key("read")
    secret = headers["Authorization"].removeprefix("Bearer ")

    response = await client.get("/api/v1/components", headers={"Authorization": f"bearer {secret}"})

    assert response.status == 200


async def test_a_key_without_the_scope_is_a_403_that_changes_nothing(
    client: Client, make_key: KeyFactory, sessions: Sessions
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": "Down", "body": "Looking"},
        headers=await make_key("read", "components:write"),
    )

    assert response.status == 403
    assert response.content_type == PROBLEM
    problem = await response.json()
    assert (problem["status"], problem["title"]) == (403, "Forbidden")
    assert "incidents:write" in problem["detail"]
    assert await count_rows(sessions, Incident) == 0


async def test_scopes_are_checked_before_the_body(client: Client, make_key: KeyFactory) -> None:
    response = await client.post(
        "/api/v1/components", data=b"{not json", headers=await make_key("read")
    )

    assert response.status == 403


# Bodies


async def test_an_unknown_field_is_a_422_not_ignored(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    response = await client.post(
        "/api/v1/components", json={"name": "API", "colour": "red"}, headers=admin
    )

    assert response.status == 422
    errors = (await response.json())["errors"]
    assert [(e["location"], e["field"], e["pointer"]) for e in errors] == [
        ("body", "colour", "/colour")
    ]
    assert await count_rows(sessions, Component) == 0


@pytest.mark.parametrize("body", [[], "name", 42])
async def test_a_json_body_that_is_not_an_object_is_a_422_about_the_whole_body(
    client: Client, admin: dict[str, str], body: Any
) -> None:
    response = await client.post("/api/v1/components", json=body, headers=admin)

    assert response.status == 422
    errors = (await response.json())["errors"]
    # The empty JSON Pointer is the whole document.
    assert [(e["location"], e["field"], e["pointer"]) for e in errors] == [("body", "", "")]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/components"), ("PATCH", "/api/v1/components/{id}")],
)
async def test_no_body_where_one_is_required_is_a_422_about_the_whole_body(
    client: Client, admin: dict[str, str], sessions: Sessions, method: str, path: str
) -> None:
    created = await client.post("/api/v1/components", json={"name": "API"}, headers=admin)
    component_id = (await created.json())["id"]

    response = await client.request(method, path.format(id=component_id), headers=admin)

    assert response.status == 422
    assert response.content_type == PROBLEM
    errors = (await response.json())["errors"]
    assert [(e["location"], e["pointer"], e["detail"]) for e in errors] == [
        ("body", "", "Field required")
    ]
    assert await _names(sessions) == ["API"]


async def test_no_body_where_every_field_has_a_default_means_the_defaults(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await client.post(
        "/api/v1/incidents", json={"title": "Down", "body": "Looking"}, headers=admin
    )

    response = await client.post(
        f"/api/v1/incidents/{(await incident.json())['id']}/resolve", headers=admin
    )

    assert response.status == 200
    assert (await response.json())["updates"][0]["body"] == "This incident has been resolved."


# Idempotency-Key


async def test_the_same_key_and_body_replay_the_first_response(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    headers = {**admin, "Idempotency-Key": "create-checkout-1"}
    body = {"name": "Checkout"}

    first = await client.post("/api/v1/components", json=body, headers=headers)
    second = await client.post("/api/v1/components", json=body, headers=headers)

    assert (first.status, second.status) == (201, 201)
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content_type == "application/json"
    assert await second.json() == await first.json()
    assert await _names(sessions) == ["Checkout"]
    assert await count_rows(sessions, IdempotencyRecord) == 1


async def test_a_replay_of_an_empty_response_keeps_its_status(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await client.post(
        "/api/v1/incidents", json={"title": "Down", "body": "Looking"}, headers=admin
    )
    path = f"/api/v1/incidents/{(await incident.json())['id']}/resolve"
    headers = {**admin, "Idempotency-Key": "resolve-1"}

    first = await client.post(path, json={}, headers=headers)
    second = await client.post(path, json={}, headers=headers)

    # Without the key the second resolve would be a 409: the incident is resolved.
    assert (first.status, second.status) == (200, 200)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await second.json() == await first.json()


async def test_the_same_key_with_another_body_is_a_422_and_creates_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    headers = {**admin, "Idempotency-Key": "k-1"}
    await client.post("/api/v1/components", json={"name": "First"}, headers=headers)

    other_body = await client.post("/api/v1/components", json={"name": "Other"}, headers=headers)
    other_path = await client.post(
        "/api/v1/component-groups", json={"name": "First"}, headers=headers
    )

    for response in (other_body, other_path):
        assert response.status == 422
        assert response.content_type == PROBLEM
        assert "Idempotency-Key" in (await response.json())["detail"]
    assert await _names(sessions) == ["First"]
    groups = await (await client.get("/api/v1/component-groups", headers=admin)).json()
    assert groups["data"] == []


async def test_different_api_keys_do_not_share_idempotency_keys(
    client: Client, make_key: KeyFactory, sessions: Sessions
) -> None:
    alice = await make_key("components:write", name="alice")
    bob = await make_key("components:write", name="bob")

    from_alice = await client.post(
        "/api/v1/components", json={"name": "API"}, headers={**alice, "Idempotency-Key": "same"}
    )
    from_bob = await client.post(
        "/api/v1/components", json={"name": "API"}, headers={**bob, "Idempotency-Key": "same"}
    )

    assert (from_alice.status, from_bob.status) == (201, 201)
    assert "Idempotent-Replayed" not in from_bob.headers
    assert (await from_alice.json())["id"] != (await from_bob.json())["id"]
    assert await _names(sessions) == ["API", "API"]


async def test_without_a_key_each_post_creates_a_record(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    for _ in range(2):
        await client.post("/api/v1/components", json={"name": "API"}, headers=admin)

    assert await _names(sessions) == ["API", "API"]
    assert await count_rows(sessions, IdempotencyRecord) == 0


async def test_concurrent_identical_posts_with_one_key_create_one_record(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    headers = {**admin, "Idempotency-Key": "burst"}
    body = {"title": "Checkout down", "body": "Looking into it"}

    responses = await asyncio.gather(
        *(client.post("/api/v1/incidents", json=body, headers=headers) for _ in range(5))
    )

    assert [r.status for r in responses] == [201] * 5
    ids = {(await r.json())["id"] for r in responses}
    assert len(ids) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 4
    assert await count_rows(sessions, Incident) == 1
    assert await count_rows(sessions, IdempotencyRecord) == 1


async def test_a_failed_request_is_not_remembered(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    headers = {**admin, "Idempotency-Key": "retry-me"}

    failed = await client.post("/api/v1/components", json={"name": ""}, headers=headers)
    missing = await client.post("/api/v1/incidents/nosuchthing0/resolve", json={}, headers=headers)
    fixed = await client.post("/api/v1/components", json={"name": "API"}, headers=headers)

    assert (failed.status, missing.status, fixed.status) == (422, 404, 201)
    assert "Idempotent-Replayed" not in fixed.headers
    assert await _names(sessions) == ["API"]


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_an_idempotency_key_of_a_wrong_length_is_a_400(
    client: Client, admin: dict[str, str], sessions: Sessions, key: str
) -> None:
    response = await client.post(
        "/api/v1/components", json={"name": "API"}, headers={**admin, "Idempotency-Key": key}
    )

    assert response.status == 400
    assert response.content_type == PROBLEM
    assert await count_rows(sessions, Component) == 0


async def test_a_replay_still_needs_a_valid_key(
    client: Client, make_key: KeyFactory, sessions: Sessions
) -> None:
    headers = {**await make_key("components:write"), "Idempotency-Key": "k"}
    await client.post("/api/v1/components", json={"name": "API"}, headers=headers)
    secret = headers["Authorization"].removeprefix("Bearer ")
    async with sessions() as session, session.begin():
        await api_keys.revoke_key(session, secret[:10], now=utcnow())

    replay = await client.post("/api/v1/components", json={"name": "API"}, headers=headers)

    assert replay.status == 401
    assert "Checkout" not in await replay.text()
