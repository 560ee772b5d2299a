"""User tokens (JWT) for the in-app inbox, and the inbox's own secret: what a host
application's pages send, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links, signing
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.inapp import deliver
from tests.status_page.test_inbox import as_user, next_event

Sessions = async_sessionmaker[AsyncSession]
HS_OLD = "old-shared-secret-of-the-host-0123456789"
HS_NEW = "new-shared-secret-of-the-host-9876543210"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


KEYS = [
    f"k-old:{HS_OLD}",
    f"k-new:{HS_NEW}",
    f"rsa:{public_pem(RSA_KEY)}",
    f"ec:{public_pem(EC_KEY)}",
]


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url, inbox={"jwt_keys": KEYS})


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def claims(user: str = "user-1", lifetime: int = 600, **more: Any) -> dict[str, Any]:
    return {"sub": user, "exp": int(time.time()) + lifetime, **more}


def hs256(payload: dict[str, Any], kid: str = "k-new", secret: str = HS_NEW) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": kid})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """A token signed with HMAC-SHA256 over whatever header is given (PyJWT would refuse)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """An ``alg: none`` token (RFC 7519 section 6): no signature at all."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


async def listed(client: Client, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/v1/inbox", headers=headers)
    assert response.status == 200, await response.text()
    return [m["title"] for m in (await response.json())["data"]]


async def refused(client: Client, headers: dict[str, str], reason: str) -> None:
    for method, path in (("GET", "/api/v1/inbox"), ("POST", "/api/v1/inbox/read-all")):
        response = await client.request(method, path, headers=headers)
        assert response.status == 401, await response.text()
        assert response.content_type == "application/problem+json"
        assert "Bearer" in response.headers["WWW-Authenticate"]
        body = await response.json()
        assert reason in body["detail"]
        for secret in (HS_OLD, HS_NEW):
            assert secret not in json.dumps(body)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: hs256(claims()), id="HS256"),
        pytest.param(lambda: hs256(claims(), "k-old", HS_OLD), id="HS256-old-kid"),
        pytest.param(
            lambda: jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa"}),
            id="RS256",
        ),
        pytest.param(
            lambda: jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec"}),
            id="ES256",
        ),
    ],
)
async def test_a_valid_user_token_opens_that_users_inbox(
    client: Client, sessions: Sessions, redis: Redis, token: Any
) -> None:
    await deliver(sessions, redis, "user-1", "Checkout errors")
    await deliver(sessions, redis, "user-2", "Not yours")
    made: str = token()
    assert await listed(client, bearer(made)) == ["Checkout errors"]
    counted = await client.get("/api/v1/inbox/counts", headers=bearer(made))
    assert await counted.json() == {"unread": 1, "unseen": 1, "total": 1}


async def test_the_hmac_hash_still_works_beside_tokens(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    await deliver(sessions, redis, "user-1", "Checkout errors")
    assert await listed(client, as_user(settings, "user-1")) == ["Checkout errors"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: hs256(claims(lifetime=-120)), "expired"),
        (lambda: hs256({"sub": "user-1"}), "no exp claim"),
        (lambda: hs256({"exp": int(time.time()) + 600}), "no sub claim"),
        (lambda: hs256(claims(nbf=int(time.time()) + 600)), "not valid yet"),
        (lambda: hs256(claims(), kid="k-gone"), "kid"),
        (lambda: jwt.encode(claims(), HS_NEW, algorithm="HS256"), "kid"),  # no kid at all
        (lambda: hs256(claims(), "k-new", HS_OLD), "signature"),  # another kid's secret
        (lambda: hs256(claims(sub=7)), "sub is not a user id"),
        (
            lambda: unsigned({"alg": "none", "typ": "JWT", "kid": "k-new"}, claims()),
            "alg must be HS256",
        ),
        (  # RS256 key, HS256 with the public key as the secret: the classic confusion
            lambda: forged(
                {"alg": "HS256", "typ": "JWT", "kid": "rsa"},
                claims(),
                public_pem(RSA_KEY).encode(),
            ),
            "alg must be RS256",
        ),
        (
            lambda: forged({"alg": "HS512", "kid": "k-new"}, claims(), HS_NEW.encode()),
            "alg must be HS256",
        ),
        (lambda: "not.a.jwt", "not a JWT"),
        # Signed to last for years: a leaked stream URL would be a permanent one.
        (lambda: hs256(claims(lifetime=365 * 24 * 3600)), "exp is more than 86400 s ahead"),
    ],
)
async def test_a_bad_token_is_401_saying_why(
    client: Client, sessions: Sessions, redis: Redis, make: Any, reason: str
) -> None:
    await deliver(sessions, redis, "user-1", "secret outage")
    await refused(client, bearer(make()), reason)


async def test_a_token_within_the_leeway_is_still_accepted(client: Client) -> None:
    assert await listed(client, bearer(hs256(claims(lifetime=-3)))) == []
    assert await listed(client, bearer(hs256(claims(lifetime=24 * 3600 + 3)))) == []


async def test_a_bad_token_is_not_passed_over_for_a_good_hash(
    client: Client, settings: Settings
) -> None:
    both = {**as_user(settings, "user-1"), **bearer(hs256(claims(lifetime=-120)))}
    await refused(client, both, "expired")
    await refused(client, {**as_user(settings, "user-1"), "Authorization": "Bearer"}, "Bearer")
    basic = {**as_user(settings, "user-1"), "Authorization": "Basic dXNlcjpwYXNz"}
    await refused(client, basic, "Bearer")


async def test_a_token_for_another_user_than_the_header_names_is_401(client: Client) -> None:
    headers = {"X-Forewarn-User": "user-1", **bearer(hs256(claims(user="user-2")))}
    await refused(client, headers, "another user")


async def test_a_retired_kid_stops_working_and_its_secret_is_never_logged(
    aiohttp_client: AiohttpClient,
    database_url: str,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The host rotated: k-new is added, its pages now sign with it, then k-old is removed.
    rotated = make_settings(database_url, redis_url, inbox={"jwt_keys": [f"k-new:{HS_NEW}"]})
    client = await aiohttp_client(create_app(rotated))
    assert await listed(client, bearer(hs256(claims()))) == []
    await refused(client, bearer(hs256(claims(), "k-old", HS_OLD)), "kid")
    assert HS_NEW not in repr(rotated)
    for record in caplog.records:
        for secret in (HS_OLD, HS_NEW):
            assert secret not in record.getMessage()


async def test_without_keys_a_token_is_401_and_the_hash_works(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str
) -> None:
    plain = make_settings(database_url, redis_url)
    client = await aiohttp_client(create_app(plain))
    await refused(client, bearer(hs256(claims())), "not enabled")
    assert await listed(client, as_user(plain, "user-1")) == []


async def test_the_stream_takes_a_token_in_the_query(
    client: Client, sessions: Sessions, redis: Redis
) -> None:
    response = await client.get("/inbox/stream", params={"token": hs256(claims())})
    assert response.status == 200
    opened = await next_event(response)
    assert opened["event"] == "counts"  # every stream opens with the user's counts
    await deliver(sessions, redis, "user-1", "Checkout errors")
    event = await next_event(response)
    assert json.loads(event["data"])["title"] == "Checkout errors"
    response.close()
    for token in (hs256(claims(lifetime=-120)), hs256(claims(), kid="k-gone"), "junk"):
        bad = await client.get("/inbox/stream", params={"token": token})
        assert bad.status == 401


async def test_the_stream_takes_a_token_as_authorization_bearer(
    client: Client, sessions: Sessions, redis: Redis
) -> None:
    # A fetch() client keeps the token out of the URL, and out of every access log.
    response = await client.get("/inbox/stream", headers=bearer(hs256(claims())))
    assert response.status == 200
    assert (await next_event(response))["event"] == "counts"
    await deliver(sessions, redis, "user-1", "Checkout errors")
    assert json.loads((await next_event(response))["data"])["title"] == "Checkout errors"
    response.close()
    # Sent, a bad one is judged: never passed over for a good one in the query.
    for header in (bearer(hs256(claims(lifetime=-120))), {"Authorization": "Basic dXNlcg=="}):
        bad = await client.get("/inbox/stream", params={"token": hs256(claims())}, headers=header)
        assert bad.status == 401
        assert bad.content_type == "application/problem+json"


async def test_an_inbox_secret_of_its_own_rotates_apart_from_the_links_already_sent(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, admin: dict[str, str]
) -> None:
    own = "the-inbox-secret-after-rotation-0123456789"
    rotated = make_settings(database_url, redis_url, inbox={"secret": own})
    client = await aiohttp_client(create_app(rotated))
    put = await client.put(
        "/api/v1/customers/aiko",
        json={"email": "aiko@example.com", "inapp_user_id": "user-1"},
        headers=admin,
    )
    assert put.status == 201
    secret_key = rotated.secret_key.get_secret_value()
    new_hash = hmac.new(own.encode(), b"user-1", hashlib.sha256).hexdigest()
    headers = {"X-Forewarn-User": "user-1", "X-Forewarn-User-Hash": new_hash}
    assert await listed(client, headers) == []
    # The hash of the derived secret (before rotation) proves nothing any more ...
    old = {
        "X-Forewarn-User": "user-1",
        "X-Forewarn-User-Hash": signing.inapp_hash(secret_key, "user-1"),
    }
    assert (await client.get("/api/v1/inbox", headers=old)).status == 401
    # ... while the links signed with FOREWARN_SECRET_KEY before it still work.
    customer_id = (await put.json())["id"]
    unsubscribe = links.sign(secret_key, "unsubscribe", f"{customer_id}:email")
    assert (await client.get(f"/unsubscribe/{unsubscribe}")).status == 200
    manage = links.manage_token(secret_key, customer_id, "email")
    assert (await client.get(f"/manage/{manage}")).status == 200


async def test_the_readme_recipe_makes_a_token_that_is_accepted(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("```python\n", readme.index("**A user token**")) + len("```python\n")
    recipe = textwrap.dedent(readme[start : readme.index("```", start)])
    secret = "the-hosts-inbox-jwt-secret-0123456789"
    settings = make_settings(database_url, redis_url, inbox={"jwt_keys": [f"web-2026-12:{secret}"]})
    client = await aiohttp_client(create_app(settings))
    scope: dict[str, Any] = {"user_id": "user-42", "INBOX_JWT_SECRET": secret}
    exec(recipe, scope)  # noqa: S102 - the README's own five lines
    assert await listed(client, bearer(scope["token"])) == []
