from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import inbox, signing
from status_page import create_app, keys
from tests.conftest import Client
from tests.inapp import deliver
from workers import create_worker

Sessions = async_sessionmaker[AsyncSession]
OUR_PACKAGES = {"config", "notifier", "status_page", "workers", "forewarn"}
WAIT = 10.0  # bounds a read that should succeed; never a timing assertion


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """Another process's connection: what a worker publishes through."""
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def proof(settings: Settings, user_id: str) -> str:
    return signing.inapp_hash(settings.secret_key.get_secret_value(), user_id)


def as_user(settings: Settings, user_id: str) -> dict[str, str]:
    return {"X-Forewarn-User": user_id, "X-Forewarn-User-Hash": proof(settings, user_id)}


async def open_stream(client: Client, settings: Settings, user_id: str) -> ClientResponse:
    response = await client.get(
        "/inbox/stream", params={"user": user_id, "hash": proof(settings, user_id)}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert (await next_event(response))["event"] == "counts"  # the first, as it opens
    return response


async def next_event(response: ClientResponse) -> dict[str, str]:
    """The next event of a text/event-stream, skipping comments (heartbeats)."""

    async def read() -> dict[str, str]:
        fields: dict[str, str] = {}
        while True:
            line = (await response.content.readline()).decode().rstrip("\r\n")
            if not line:
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")

    return await asyncio.wait_for(read(), WAIT)


async def no_event_before(response: ClientResponse, marker: str) -> dict[str, str]:
    """Read until the event titled ``marker``; fail on anything before it."""
    event = await next_event(response)
    assert json.loads(event["data"])["title"] == marker, event
    return event


async def test_it_lists_messages_newest_first_with_the_unread_count(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    await deliver(sessions, redis, "user-1", "Checkout errors", "Resolved")
    await deliver(sessions, redis, "user-2", "Not yours")
    response = await client.get("/api/v1/inbox", headers=as_user(settings, "user-1"))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert [m["title"] for m in body["data"]] == ["Resolved", "Checkout errors"]
    assert body["unread_count"] == 2
    assert body["next_cursor"] is None
    assert set(body["data"][0]) == {
        "id",
        "title",
        "body",
        "url",
        "created_at",
        "seen_at",
        "read_at",
        "archived_at",
        "rating",
    }
    assert body["data"][0]["body"] == "Resolved: we are on it."
    assert body["data"][0]["url"] == "/incidents/1"
    assert body["data"][0]["read_at"] is None


async def test_it_pages_with_a_cursor(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    await deliver(sessions, redis, "user-1", *(f"message {n}" for n in range(5)))
    headers = as_user(settings, "user-1")
    titles: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        body = await (await client.get("/api/v1/inbox", params=params, headers=headers)).json()
        titles += [m["title"] for m in body["data"]]
        assert body["unread_count"] == 5
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert titles == [f"message {n}" for n in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize(
    ("query", "field"), [({"cursor": "nonsense"}, "cursor"), ({"limit": "0"}, "limit")]
)
async def test_a_bad_query_is_422_naming_the_field(
    client: Client, settings: Settings, query: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/inbox", params=query, headers=as_user(settings, "u"))
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    [error] = (await response.json())["errors"]
    assert (error["location"], error["field"]) == ("query", field)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Forewarn-User": "user-1"},
        {"X-Forewarn-User": "user-1", "X-Forewarn-User-Hash": "0" * 64},
        {"X-Forewarn-User": "user-1", "X-Forewarn-User-Hash": "not hex at all ✓"},
    ],
)
async def test_a_missing_or_wrong_hash_is_401(
    client: Client,
    settings: Settings,
    sessions: Sessions,
    redis: Redis,
    headers: dict[str, str],
) -> None:
    await deliver(sessions, redis, "user-1", "secret outage")
    for method, path in (
        ("GET", "/api/v1/inbox"),
        ("POST", "/api/v1/inbox/read-all"),
        ("POST", "/api/v1/inbox/1/read"),
    ):
        response = await client.request(method, path, headers=headers)
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "secret outage" not in await response.text()
    # Another user's valid hash proves nothing about user-1.
    stolen = {"X-Forewarn-User": "user-1", "X-Forewarn-User-Hash": proof(settings, "user-2")}
    assert (await client.get("/api/v1/inbox", headers=stolen)).status == 401
    async with sessions() as session:
        assert (await inbox.counts(session, "user-1")).unread == 1


def readme_hash(secret_key: str, user_id: str, *, key: str | None = None) -> str:
    """The README's recipe, with hmac alone: the in-app secret, then the user id's HMAC."""
    inapp_secret = hmac.new(secret_key.encode(), b"forewarn:inapp", hashlib.sha256).hexdigest()
    signing_key = inapp_secret if key is None else key
    return hmac.new(signing_key.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def test_a_hash_made_as_the_readme_says_is_accepted_and_a_wrong_one_is_401(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    await deliver(sessions, redis, "user-42", "Checkout is slow")
    secret_key = settings.secret_key.get_secret_value()
    good = readme_hash(secret_key, "user-42")

    listed = await client.get(
        "/api/v1/inbox", headers={"X-Forewarn-User": "user-42", "X-Forewarn-User-Hash": good}
    )
    assert listed.status == 200, await listed.text()
    assert [m["title"] for m in (await listed.json())["data"]] == ["Checkout is slow"]
    stream = await client.get("/inbox/stream", params={"user": "user-42", "hash": good})
    assert stream.status == 200
    stream.close()

    for wrong in (
        readme_hash(secret_key, "user-42", key=secret_key),  # the secret key itself
        readme_hash(secret_key, "user-43"),
        readme_hash("another-secret-key", "user-42"),
        good[:-1],
    ):
        headers = {"X-Forewarn-User": "user-42", "X-Forewarn-User-Hash": wrong}
        refused = await client.get("/api/v1/inbox", headers=headers)
        assert refused.status == 401
        assert "Checkout is slow" not in await refused.text()
        refused_stream = await client.get(
            "/inbox/stream", params={"user": "user-42", "hash": wrong}
        )
        assert refused_stream.status == 401


async def test_marking_one_read_lowers_the_unread_count(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    first, _second = await deliver(sessions, redis, "user-1", "one", "two")
    headers = as_user(settings, "user-1")
    response = await client.post(f"/api/v1/inbox/{first}/read", headers=headers)
    assert response.status == 200
    body = await response.json()
    assert body["data"]["id"] == first
    assert body["data"]["read_at"] is not None
    assert body["unread_count"] == 1
    listed = await (await client.get("/api/v1/inbox", headers=headers)).json()
    assert [(m["title"], m["read_at"] is None) for m in listed["data"]] == [
        ("two", True),
        ("one", False),
    ]
    assert listed["unread_count"] == 1


async def test_another_users_message_is_404_and_stays_unread(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    [theirs] = await deliver(sessions, redis, "user-2", "theirs")
    for message_id in (theirs, theirs + 1000, 2**64):
        response = await client.post(
            f"/api/v1/inbox/{message_id}/read", headers=as_user(settings, "user-1")
        )
        assert response.status == 404
        assert response.content_type == "application/problem+json"
    body = await (await client.get("/api/v1/inbox", headers=as_user(settings, "user-2"))).json()
    assert body["unread_count"] == 1


async def test_read_all_marks_every_message_of_that_user_only(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    await deliver(sessions, redis, "user-1", "one", "two", "three")
    await deliver(sessions, redis, "user-2", "theirs")
    response = await client.post("/api/v1/inbox/read-all", headers=as_user(settings, "user-1"))
    assert response.status == 200
    assert await response.json() == {
        "marked": 3,
        "unread_count": 0,
        "counts": {"unread": 0, "unseen": 0, "total": 3},
    }
    mine = await (await client.get("/api/v1/inbox", headers=as_user(settings, "user-1"))).json()
    assert mine["unread_count"] == 0
    assert all(m["read_at"] is not None for m in mine["data"])
    theirs = await (await client.get("/api/v1/inbox", headers=as_user(settings, "user-2"))).json()
    assert theirs["unread_count"] == 1


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/inbox", "GET"),
        ("/api/v1/inbox/7/read", "POST"),
        ("/api/v1/inbox/read-all", "POST"),
    ],
)
async def test_a_cors_preflight_allows_the_identity_headers(
    client: Client, path: str, method: str
) -> None:
    response = await client.options(
        path,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-forewarn-user, x-forewarn-user-hash",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert method in response.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"x-forewarn-user", "x-forewarn-user-hash"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_the_stream_refuses_a_wrong_hash(client: Client, settings: Settings) -> None:
    for params in (
        {},
        {"user": "user-1"},
        {"user": "user-1", "hash": proof(settings, "user-2")},
    ):
        response = await client.get("/inbox/stream", params=params)
        assert response.status == 401
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_an_sse_client_receives_a_message_pushed_from_another_process(
    aiohttp_client: AiohttpClient, settings: Settings, sessions: Sessions
) -> None:
    # Two web processes on one Redis: each has its own subscription and its own clients.
    web_a = await aiohttp_client(create_app(settings))
    web_b = await aiohttp_client(create_app(settings))
    stream_a = await open_stream(web_a, settings, "user-1")
    stream_b = await open_stream(web_b, settings, "user-1")
    assert stream_a.headers["Access-Control-Allow-Origin"] == "*"

    # Delivered through instance B's own database engine and Redis connection.
    b_sessions, b_redis = web_b.app[keys.SESSIONS], web_b.app[keys.QUEUE]
    [message_id] = await deliver(b_sessions, b_redis, "user-1", "Checkout errors")

    for stream in (stream_a, stream_b):
        event = await next_event(stream)
        assert event["event"] == "message"
        assert event["id"] == str(message_id)
        message = json.loads(event["data"])
        assert message["title"] == "Checkout errors"
        assert message["body"] == "Checkout errors: we are on it."
        assert message["id"] == message_id
        stream.close()

    # What was pushed is what the inbox holds.
    listed = await (await web_a.get("/api/v1/inbox", headers=as_user(settings, "user-1"))).json()
    assert listed["data"][0]["id"] == message_id


async def test_an_incident_update_reaches_an_open_stream_through_the_worker(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    admin: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    web_a = await aiohttp_client(create_app(settings))
    web_b = await aiohttp_client(create_app(settings))
    response = await web_b.put(
        "/api/v1/customers/aiko",
        json={
            "given_name": "Aiko",
            "email": "aiko@example.com",
            "phone": "+81 90 1234 5678",
            "inapp_user_id": "user-1",
            "follows": {"page": True},
        },
        headers=admin,
    )
    assert response.status == 201, await response.text()
    stream = await open_stream(web_a, settings, "user-1")

    posted = await web_b.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "body": "Some payments fail. We are investigating."},
        headers=admin,
    )
    assert posted.status == 201
    worker = create_worker(settings, settings.redis_url, burst=True, cron_jobs=[], poll_delay=0.01)
    try:
        await worker.async_run()
    finally:
        await worker.close()

    event = await next_event(stream)
    stream.close()
    assert "Checkout errors" in json.loads(event["data"])["title"]
    listed = await web_a.get("/api/v1/inbox", headers=as_user(settings, "user-1"))
    text = await listed.text()
    assert json.loads(text)["data"][0]["id"] == int(event["id"])
    # Our own log lines (libraries' debug output echoes SQL parameters: not ours to judge).
    ours = [r.getMessage() for r in caplog.records if r.name.partition(".")[0] in OUR_PACKAGES]
    assert ours
    for pii in ("aiko@example.com", "+819012345678", "1234 5678"):
        assert pii not in event["data"]
        assert pii not in text
        assert not [line for line in ours if pii in line]


async def test_a_stream_gets_only_its_own_users_messages(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    stream_x = await open_stream(client, settings, "user-x")
    stream_y = await open_stream(client, settings, "user-y")
    await deliver(sessions, redis, "user-y", "for y only")
    await deliver(sessions, redis, "user-x", "for x")
    # Events arrive in order on one stream: had y's message reached x, it would come first.
    await no_event_before(stream_x, "for x")
    await no_event_before(stream_y, "for y only")
    stream_x.close()
    stream_y.close()


async def test_a_reconnect_gets_the_messages_it_missed(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    first, *_ = await deliver(sessions, redis, "user-1", "one", "two", "three")
    response = await client.get(
        "/inbox/stream",
        params={"user": "user-1", "hash": proof(settings, "user-1")},
        headers={"Last-Event-ID": str(first)},
    )
    assert response.status == 200
    assert [json.loads((await next_event(response))["data"])["title"] for _ in range(2)] == [
        "two",
        "three",
    ]
    assert (await next_event(response))["event"] == "counts"
    await deliver(sessions, redis, "user-1", "four")
    await no_event_before(response, "four")
    response.close()


async def test_streams_end_when_the_app_shuts_down(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    web_a = await aiohttp_client(create_app(settings))
    stream = await open_stream(web_a, settings, "user-1")
    assert len(web_a.app[keys.INBOXES]) == 1
    await web_a.server.close()
    # The stream ends (read() reaches its end) instead of hanging until a heartbeat fails.
    assert await asyncio.wait_for(stream.content.read(), WAIT) == b""
    stream.close()
    assert len(web_a.app[keys.INBOXES]) == 0
