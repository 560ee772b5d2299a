"""Seen, read and archived, one message, a batch or all, and the counts: as a host
application's bell calls them over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from tests.conftest import Client
from tests.inapp import deliver
from tests.status_page.test_inbox import as_user

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def counts(client: Client, settings: Settings, user: str = "user-1") -> dict[str, int]:
    response = await client.get("/api/v1/inbox/counts", headers=as_user(settings, user))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    found: dict[str, int] = await response.json()
    return found


async def act(client: Client, settings: Settings, message_id: int, action: str) -> Any:
    response = await client.post(
        f"/api/v1/inbox/{message_id}/{action}", headers=as_user(settings, "user-1")
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def titles(client: Client, settings: Settings, status: str | None = None) -> list[str]:
    params = {"status": status} if status else {}
    response = await client.get("/api/v1/inbox", params=params, headers=as_user(settings, "user-1"))
    assert response.status == 200, await response.text()
    return [m["title"] for m in (await response.json())["data"]]


async def test_each_action_changes_the_message_and_the_counts(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    one, two, three = await deliver(sessions, redis, "user-1", "one", "two", "three")
    assert await counts(client, settings) == {"unread": 3, "unseen": 3, "total": 3}

    seen = await act(client, settings, one, "seen")
    assert seen["data"]["seen_at"] is not None
    assert seen["data"]["read_at"] is None
    assert seen["counts"] == {"unread": 3, "unseen": 2, "total": 3}

    read = await act(client, settings, two, "read")  # reading sees it too
    assert read["data"]["read_at"] is not None
    assert read["data"]["seen_at"] is not None
    assert read["counts"] == {"unread": 2, "unseen": 1, "total": 3}
    assert read["unread_count"] == 2

    again = await act(client, settings, two, "read")  # idempotent: the first time stays
    assert again["data"]["read_at"] == read["data"]["read_at"]
    assert again["counts"] == read["counts"]

    unread = await act(client, settings, two, "unread")
    assert unread["data"]["read_at"] is None
    assert unread["data"]["seen_at"] is not None
    assert unread["counts"] == {"unread": 3, "unseen": 1, "total": 3}

    await act(client, settings, two, "read")
    unseen = await act(client, settings, two, "unseen")  # unseeing unreads it too
    assert unseen["data"]["seen_at"] is None
    assert unseen["data"]["read_at"] is None
    assert unseen["counts"] == {"unread": 3, "unseen": 2, "total": 3}

    archived = await act(client, settings, three, "archive")
    assert archived["data"]["archived_at"] is not None
    assert archived["counts"] == {"unread": 2, "unseen": 1, "total": 2}
    assert await titles(client, settings) == ["two", "one"]
    assert await titles(client, settings, "archived") == ["three"]

    back = await act(client, settings, three, "unarchive")
    assert back["data"]["archived_at"] is None
    assert back["counts"] == {"unread": 3, "unseen": 2, "total": 3}
    assert await counts(client, settings) == back["counts"]


async def test_the_list_filters_by_status(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    a, b, c, d = await deliver(sessions, redis, "user-1", "a", "b", "c", "d")
    await act(client, settings, a, "read")
    await act(client, settings, b, "seen")
    await act(client, settings, d, "archive")
    assert await titles(client, settings) == ["c", "b", "a"]  # not archived
    assert await titles(client, settings, "unread") == ["c", "b"]
    assert await titles(client, settings, "read") == ["a"]
    assert await titles(client, settings, "unseen") == ["c"]
    assert await titles(client, settings, "seen") == ["b", "a"]
    assert await titles(client, settings, "archived") == ["d"]
    assert await titles(client, settings, "all") == ["d", "c", "b", "a"]
    listed = await (await client.get("/api/v1/inbox", headers=as_user(settings, "user-1"))).json()
    assert listed["counts"] == {"unread": 2, "unseen": 1, "total": 3}
    assert listed["unread_count"] == 2
    assert c  # delivered, untouched


async def test_a_filtered_list_pages_with_its_cursor(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    ids = await deliver(sessions, redis, "user-1", *(f"m{n}" for n in range(6)))
    for message_id in ids[::2]:
        await act(client, settings, message_id, "read")
    got: list[str] = []
    params: dict[str, Any] = {"status": "unread", "limit": 2}
    while True:
        response = await client.get(
            "/api/v1/inbox", params=params, headers=as_user(settings, "user-1")
        )
        body = await response.json()
        got += [m["title"] for m in body["data"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert got == ["m5", "m3", "m1"]


@pytest.mark.parametrize("status", ["archive", "UNREAD", "", "deleted"])
async def test_an_unknown_status_is_422_naming_status(
    client: Client, settings: Settings, status: str
) -> None:
    response = await client.get(
        "/api/v1/inbox", params={"status": status}, headers=as_user(settings, "user-1")
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    [error] = (await response.json())["errors"]
    assert (error["location"], error["field"]) == ("query", "status")


@pytest.mark.parametrize("action", ["seen", "unseen", "read", "unread", "archive", "unarchive"])
async def test_another_users_or_an_unknown_message_is_404_and_unchanged(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis, action: str
) -> None:
    [theirs] = await deliver(sessions, redis, "user-2", "theirs")
    before = await counts(client, settings, "user-2")
    for message_id in (theirs, theirs + 1000, 2**64):
        response = await client.post(
            f"/api/v1/inbox/{message_id}/{action}", headers=as_user(settings, "user-1")
        )
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        assert "theirs" not in await response.text()
    assert await counts(client, settings, "user-2") == before


async def test_a_batch_marks_the_messages_given_in_their_order(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    one, two, three = await deliver(sessions, redis, "user-1", "one", "two", "three")
    headers = as_user(settings, "user-1")
    response = await client.post(
        "/api/v1/inbox/batch", json={"ids": [three, one], "action": "archive"}, headers=headers
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert [m["id"] for m in body["data"]] == [three, one]
    assert all(m["archived_at"] is not None for m in body["data"])
    assert body["counts"] == {"unread": 1, "unseen": 1, "total": 1}
    assert await titles(client, settings) == ["two"]
    assert two


async def test_a_batch_with_someone_elses_id_changes_nothing(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    [mine] = await deliver(sessions, redis, "user-1", "mine")
    [theirs] = await deliver(sessions, redis, "user-2", "theirs")
    response = await client.post(
        "/api/v1/inbox/batch",
        json={"ids": [mine, theirs], "action": "read"},
        headers=as_user(settings, "user-1"),
    )
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert await counts(client, settings) == {"unread": 1, "unseen": 1, "total": 1}
    assert await counts(client, settings, "user-2") == {"unread": 1, "unseen": 1, "total": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "action": "read"}, "ids"),
        ({"ids": [1], "action": "delete"}, "action"),
        ({"ids": ["1"], "action": "read"}, "ids[0]"),
        ({"ids": [0], "action": "read"}, "ids[0]"),
        ({"ids": list(range(1, 102)), "action": "read"}, "ids"),
        ({"action": "read"}, "ids"),
    ],
)
async def test_a_bad_batch_is_422_naming_the_field(
    client: Client, settings: Settings, body: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/inbox/batch", json=body, headers=as_user(settings, "user-1")
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    fields = [e["field"] for e in (await response.json())["errors"]]
    assert fields == [field]


async def test_a_batch_that_is_not_json_is_400(client: Client, settings: Settings) -> None:
    response = await client.post(
        "/api/v1/inbox/batch",
        data=b"{ids: [1]",
        headers={**as_user(settings, "user-1"), "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_seen_all_and_archive_all_touch_only_that_user(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    one, _two, _three = await deliver(sessions, redis, "user-1", "one", "two", "three")
    await deliver(sessions, redis, "user-2", "theirs")
    await act(client, settings, one, "seen")
    headers = as_user(settings, "user-1")

    seen = await client.post("/api/v1/inbox/seen-all", headers=headers)
    assert seen.status == 200
    assert await seen.json() == {
        "marked": 2,
        "unread_count": 3,
        "counts": {"unread": 3, "unseen": 0, "total": 3},
    }
    again = await (await client.post("/api/v1/inbox/seen-all", headers=headers)).json()
    assert again["marked"] == 0

    archived = await (await client.post("/api/v1/inbox/archive-all", headers=headers)).json()
    assert archived == {
        "marked": 3,
        "unread_count": 0,
        "counts": {"unread": 0, "unseen": 0, "total": 0},
    }
    assert await titles(client, settings) == []
    assert await titles(client, settings, "archived") == ["three", "two", "one"]
    assert await counts(client, settings, "user-2") == {"unread": 1, "unseen": 1, "total": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/inbox/counts"),
        ("POST", "/api/v1/inbox/1/seen"),
        ("POST", "/api/v1/inbox/1/archive"),
        ("POST", "/api/v1/inbox/batch"),
        ("POST", "/api/v1/inbox/seen-all"),
        ("POST", "/api/v1/inbox/archive-all"),
    ],
)
async def test_every_new_operation_needs_a_proof_and_allows_cors(
    client: Client, settings: Settings, method: str, path: str
) -> None:
    stolen = {"X-Forewarn-User": "user-1", "X-Forewarn-User-Hash": "0" * 64}
    response = await client.request(method, path, headers=stolen)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = await client.options(
        path,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status == 204
    allowed = {
        h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "x-forewarn-user", "x-forewarn-user-hash"} <= allowed
