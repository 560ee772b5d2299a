"""Hostile input to every operation of the in-app feed, as a careless or malicious host
page might send it: each answer is a 4xx ``application/problem+json`` saying what is
wrong, never a 500, and nothing of the user's inbox changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from redis.asyncio import Redis

from config import Settings
from tests.conftest import Client, make_settings
from tests.inapp import Sessions, deliver
from tests.status_page.test_inbox import as_user

HS = "shared-secret-of-the-host-for-hostile-tests"
HUGE = "9" * 5000  # past Python's 4300-digit int() limit
USER = "user-1"


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url, inbox={"jwt_keys": [f"k1:{HS}"]})


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def message(sessions: Sessions, redis: Redis) -> int:
    [made] = await deliver(sessions, redis, USER, "Checkout errors")
    return made


def token(claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(claims, HS, algorithm="HS256", headers={"kid": "k1", **header})


def b64(value: Any) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token with any header at all (PyJWT refuses a kid that is not a string)."""
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(HS.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def good_claims(**more: Any) -> dict[str, Any]:
    return {"sub": USER, "exp": int(time.time()) + 600, **more}


async def problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    """The answer is ``status`` as problem+json whose text names each of ``words``."""
    text = await response.text()
    assert response.status == status, text
    assert response.headers["Content-Type"].startswith("application/problem+json"), text
    for word in words:
        assert word in text, (word, text)
    body: dict[str, Any] = json.loads(text)
    return body


async def unchanged(client: Client, settings: Settings) -> None:
    answer = await client.get("/api/v1/inbox/counts", headers=as_user(settings, USER))
    assert await answer.json() == {"unread": 1, "unseen": 1, "total": 1}


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/inbox/{HUGE}/read",
        f"/api/v1/inbox/{HUGE}/rating",
        f"/api/v1/inbox/{2**63}/archive",
        "/api/v1/inbox/-1/read",
        "/api/v1/inbox/abc/seen",
        "/api/v1/inbox/0/unread",
    ],
)
async def test_a_message_id_out_of_range_or_not_a_number_is_404(
    client: Client, settings: Settings, message: int, path: str
) -> None:
    answer = await client.post(path, json={"score": 3}, headers=as_user(settings, USER))
    await problem(answer, 404)
    await unchanged(client, settings)


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"ids": list(range(1, 102)), "action": "read"}, 422, "ids"),
        ({"ids": [], "action": "read"}, 422, "ids"),
        ({"ids": [-1], "action": "read"}, 422, "ids"),
        ({"ids": [0], "action": "read"}, 422, "ids"),
        ({"ids": [2**63], "action": "read"}, 422, "ids"),
        ({"ids": ["1"], "action": "read"}, 422, "ids"),
        ({"ids": [1.5], "action": "read"}, 422, "ids"),
        ({"ids": [True], "action": "read"}, 422, "ids"),
        ({"ids": None, "action": "read"}, 422, "ids"),
        ({"ids": "1", "action": "read"}, 422, "ids"),
        ({"ids": [1], "action": "delete"}, 422, "action"),
        ({"ids": [1], "action": 1}, 422, "action"),
        ({"ids": [1]}, 422, "action"),
        ({"ids": [1], "action": "read", "extra": 1}, 422, "extra"),
        ([1, 2], 422, "body"),
        ("read", 422, "body"),
    ],
)
async def test_a_batch_out_of_shape_is_422_naming_the_field(
    client: Client,
    settings: Settings,
    message: int,
    body: Any,
    status: int,
    named: str,
) -> None:
    answer = await client.post("/api/v1/inbox/batch", json=body, headers=as_user(settings, USER))
    await problem(answer, status, named)
    await unchanged(client, settings)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"ids": [NaN], "action": "read"}',
        b'{"ids": [' + HUGE.encode() + b'], "action": "read"}',
        b'{"ids": [1], "action": "\\ud800"}',
        b"\xff\xfe",
    ],
)
async def test_a_batch_that_is_not_json_is_400(
    client: Client, settings: Settings, message: int, raw: bytes
) -> None:
    headers = as_user(settings, USER) | {"Content-Type": "application/json"}
    answer = await client.post("/api/v1/inbox/batch", data=raw, headers=headers)
    await problem(answer, 400, "JSON")
    await unchanged(client, settings)


async def test_duplicates_in_a_batch_mark_once_and_answer_once(
    client: Client, settings: Settings, message: int
) -> None:
    answer = await client.post(
        "/api/v1/inbox/batch",
        json={"ids": [message, message, message], "action": "read"},
        headers=as_user(settings, USER),
    )
    assert answer.status == 200
    body = await answer.json()
    assert [m["id"] for m in body["data"]] == [message]
    assert body["counts"] == {"unread": 0, "unseen": 0, "total": 1}


async def test_an_unknown_id_among_known_ones_changes_nothing(
    client: Client, settings: Settings, message: int
) -> None:
    answer = await client.post(
        "/api/v1/inbox/batch",
        json={"ids": [message, 2**63 - 1], "action": "read"},
        headers=as_user(settings, USER),
    )
    await problem(answer, 404)
    await unchanged(client, settings)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"limit": "-1"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": HUGE}, "limit"),
        ({"cursor": HUGE}, "cursor"),
        ({"cursor": "-5"}, "cursor"),
        ({"status": "deleted"}, "status"),
        ({"other": "1"}, "other"),
    ],
)
async def test_a_list_query_out_of_shape_is_422_naming_the_parameter(
    client: Client, settings: Settings, message: int, query: dict[str, str], named: str
) -> None:
    answer = await client.get("/api/v1/inbox", params=query, headers=as_user(settings, USER))
    await problem(answer, 422, named)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: token(good_claims(exp=str(int(time.time()) + 600))), "exp"),
        (lambda: token({"sub": 42, "exp": int(time.time()) + 600}), "sub"),
        (lambda: token({"sub": "", "exp": int(time.time()) + 600}), "sub"),
        (lambda: token({"sub": ["user-1"], "exp": int(time.time()) + 600}), "sub"),
        (lambda: token(good_claims(), kid="../../etc/passwd"), "kid"),
        (lambda: signed({"alg": "HS256", "kid": {"k1": 1}}, good_claims()), "not a JWT"),
        (lambda: signed({"alg": "HS256", "kid": ["k1"]}, good_claims()), "not a JWT"),
        (lambda: signed({"alg": "HS256", "kid": None}, good_claims()), "not a JWT"),
        (lambda: signed(["k1"], good_claims()), "not a JWT"),  # type: ignore[arg-type]
        (lambda: signed({"alg": "none", "kid": "k1"}, good_claims()), "alg"),
        (lambda: token(good_claims(iat="yesterday")), "iat"),
        (lambda: token(good_claims(exp=True)), "exp"),
        (lambda: token(good_claims(nbf="0")), "nbf"),
        (lambda: token(good_claims(nbf=time.time() + 3600)), "not valid yet"),
        (lambda: "a" * 100_000, "not a JWT"),
        (lambda: token(good_claims(pad="x" * 60_000)), ""),
        (lambda: "x.y.z", "not a JWT"),
    ],
)
async def test_a_hostile_user_token_is_401_saying_why(
    client: Client, settings: Settings, message: int, make: Any, reason: str
) -> None:
    bad = make()
    answer = await client.get("/api/v1/inbox/counts", headers={"Authorization": f"Bearer {bad}"})
    # A header past aiohttp's 8 KB line limit is refused before any handler: 400.
    if len(bad) > 8000:
        assert answer.status in (400, 431)
    else:
        await problem(answer, 401, reason)
    stream = await client.get("/inbox/stream", params={"token": bad})
    if len(bad) > 8000:
        assert stream.status in (400, 414, 431)
    else:
        await problem(stream, 401, reason)
    read = await client.post(
        f"/api/v1/inbox/{message}/read", headers={"Authorization": f"Bearer {bad}"}
    )
    assert 400 <= read.status < 500
    await unchanged(client, settings)


async def test_a_ten_kilobyte_sub_is_refused_or_finds_no_message(
    client: Client, settings: Settings, message: int
) -> None:
    long = token({"sub": "u" * 10_000, "exp": int(time.time()) + 600})
    answer = await client.post(
        f"/api/v1/inbox/{message}/read", headers={"Authorization": f"Bearer {long}"}
    )
    assert 400 <= answer.status < 500
    await unchanged(client, settings)


async def test_a_token_for_one_user_and_a_user_for_another_on_the_stream_is_401(
    client: Client, settings: Settings, message: int
) -> None:
    answer = await client.get(
        "/inbox/stream", params={"token": token(good_claims()), "user": "user-2"}
    )
    await problem(answer, 401, "another user")


@pytest.mark.parametrize("last_id", [HUGE, "-5", "abc", "1e3", str(2**63)])
async def test_a_hostile_last_event_id_starts_the_stream_from_the_newest(
    client: Client, settings: Settings, message: int, last_id: str
) -> None:
    answer = await client.get(
        "/inbox/stream",
        params={"token": token(good_claims())},
        headers={"Last-Event-ID": last_id},
    )
    assert answer.status == 200
    line = b""
    while not line.startswith(b"id:"):
        line = await answer.content.readline()
    assert line.decode().strip() == f"id: {message}"
    answer.close()


@pytest.mark.parametrize(
    "query",
    [
        "user=%ED%A0%80&hash=00",  # a lone surrogate, as UTF-8 would never write it
        "user=%FF%FE&hash=%FF",
        "user=u&hash=" + "%C3%A9" * 32,
        "user=" + "u" * 6000 + "&hash=0",
        "user=user-1&hash=abc&token=",
    ],
)
async def test_a_hostile_user_or_hash_on_the_stream_is_401(
    client: Client, settings: Settings, query: str
) -> None:
    answer = await client.get(f"/inbox/stream?{query}")
    if "%ED" in query or "%FF" in query:
        # Not UTF-8: refused app-wide before any handler, as a page (400), never a 500.
        assert answer.status == 400
    else:
        await problem(answer, 401, "user and hash")


async def test_a_non_ascii_user_header_is_401(client: Client, settings: Settings) -> None:
    headers = {"X-Forewarn-User": "usér", "X-Forewarn-User-Hash": "é" * 64}
    answer = await client.get("/api/v1/inbox", headers=headers)
    await problem(answer, 401, "X-Forewarn-User")
