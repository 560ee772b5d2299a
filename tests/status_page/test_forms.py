"""Input no one types (undecodable bytes, NUL and other control characters) in a
public form, path or query string: a friendly 400 page, and nothing stored."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from notifier.tables import Consent, Customer, OutboxMessage, Signup
from tests.conftest import Client
from tests.status_page.signups import csrf_token, form, outbox, sign_up
from tests.status_page.test_manage import subscribed

Sessions = async_sessionmaker[AsyncSession]
URLENCODED = "application/x-www-form-urlencoded"
BOUNDARY = "forewarn-test-boundary"

# How each kind of bad value travels in a body: (bytes of the value, content type).
BAD_VALUES = {
    "raw invalid UTF-8": (b"sam\xff\xfe@example.com", URLENCODED),
    "percent-encoded invalid UTF-8": (b"sam%FF@example.com", URLENCODED),
    "a NUL": (b"sam%00@example.com", URLENCODED),
    "a control character": (b"sam%01@example.com", URLENCODED),
    "a C1 control character": (b"sam%C2%85@example.com", URLENCODED),
    "an unknown charset": (b"sam@example.com", URLENCODED + "; charset=x-no-such-charset"),
    "multipart with invalid UTF-8": (b"sam\xff@example.com", "multipart/form-data"),
    "multipart with a NUL": (b"sam\x00@example.com", "multipart/form-data"),
}


def encode(pairs: list[tuple[str, str]], bad_field: str, bad: bytes, content_type: str) -> bytes:
    """The form as bytes, with ``bad`` as the raw value of ``bad_field``."""
    fields = [(k, v.encode()) for k, v in pairs if k != bad_field] + [(bad_field, bad)]
    if content_type.startswith("multipart/"):
        parts = [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
            + v
            + b"\r\n"
            for k, v in fields
        ]
        return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return b"&".join(quote(k).encode() + b"=" + v for k, v in fields)


async def post_bad(
    client: Client, path: str, pairs: list[tuple[str, str]], bad_field: str, kind: str
) -> None:
    bad, content_type = BAD_VALUES[kind]
    if content_type.startswith("multipart/"):
        content_type += f"; boundary={BOUNDARY}"
    response = await client.post(
        path,
        data=encode(pairs, bad_field, bad, content_type),
        headers={"Content-Type": content_type},
    )
    text = await response.text()
    assert response.status == 400, (path, kind, text)
    assert response.content_type == "text/html"
    assert "We could not read what was sent" in text
    assert "Traceback" not in text


async def counts(sessions: Sessions) -> tuple[int, int, int, list[tuple[str, bool]]]:
    async with sessions() as session:
        consents = await session.execute(
            select(Consent.channel, Consent.revoked_at.is_(None)).order_by(Consent.id)
        )
        return (
            await session.scalar(select(func.count()).select_from(Signup)) or 0,
            await session.scalar(select(func.count()).select_from(Customer)) or 0,
            await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            [(channel, active) for channel, active in consents],
        )


@pytest.mark.parametrize("kind", BAD_VALUES)
async def test_a_sign_up_that_cannot_be_read_gets_400_and_stores_nothing(
    client: Client, sessions: Sessions, kind: str
) -> None:
    token = await csrf_token(client)
    pairs = form(token, {"email": "sam@example.com"})

    await post_bad(client, "/subscribe", pairs, "email", kind)
    await post_bad(client, "/subscribe", pairs, "time_zone", kind)

    assert await counts(sessions) == (0, 0, 0, [])


@pytest.mark.parametrize("kind", BAD_VALUES)
async def test_every_other_public_form_refuses_what_cannot_be_read(
    client: Client, settings: Settings, sessions: Sessions, kind: str
) -> None:
    manage = await subscribed(client, settings)
    await sign_up(client, channel="sms", phone="+81 90 1234 5678")
    async with sessions() as session:
        person = await session.scalar(select(Customer))
        pending = await session.scalar(select(Signup).where(Signup.channel == "sms"))
    assert person is not None
    assert pending is not None
    secret = settings.secret_key.get_secret_value()
    confirm = "/subscribe/confirm/" + links.dumps(secret, "confirm", pending.id)
    unsubscribe = "/unsubscribe/" + links.sign(secret, "unsubscribe", f"{person.id}:email")
    before = await counts(sessions)
    token = await csrf_token(client)
    forms = {
        "/subscribe/verify": [("csrf_token", token), ("code", "123456")],
        confirm: [("csrf_token", token)],
        manage: form(token, {"channels": ["email"], "quiet_start": "", "quiet_end": ""}),
        manage + "/unfollow": [("csrf_token", token), ("component", "page")],
        manage + "/unsubscribe": [("csrf_token", token)],
        unsubscribe: [("List-Unsubscribe", "One-Click")],
    }

    for path, pairs in forms.items():
        await post_bad(client, path, pairs, "website" if path == manage else "extra", kind)
        await post_bad(client, path, pairs, pairs[-1][0], kind)

    assert await counts(sessions) == before
    assert len(await outbox(client)) == before[2]


@pytest.mark.parametrize(
    "path",
    [
        "/?lang=%00",
        "/history?month=2026-01%00",
        "/dev/outbox.json?channel=email%00",
        "/dev/outbox?limit=%FF",
        "/subscribe?email=%01",
        "/incidents/abc%00def",
        "/maintenance/%00",
        "/components/%00/feed.rss",
        "/components/%C2%85/badge.svg",
        "/manage/%00",
        "/unsubscribe/%00",
        "/subscribe/confirm/%00",
    ],
)
async def test_a_path_or_query_that_cannot_be_read_gets_400(client: Client, path: str) -> None:
    response = await client.get(path)

    assert response.status == 400, await response.text()
    assert response.content_type == "text/html"
    assert "We could not read what was sent" in await response.text()


@pytest.mark.parametrize(
    ("query", "field"),
    [("user=%00&hash=00", "user"), ("user=a&hash=%ff%fe", "hash"), ("token=%ff", "token")],
)
async def test_a_stream_query_that_cannot_be_read_gets_a_problem_naming_it(
    client: Client, query: str, field: str
) -> None:
    # The stream is read by programs (EventSource, fetch), as the API is.
    response = await client.get(f"/inbox/stream?{query}")

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("query", field)]
