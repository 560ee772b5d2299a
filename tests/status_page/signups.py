"""Helpers for tests that sign up through the public page and read the dev outbox."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse

from tests.conftest import Client

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
PUBLIC = "http://status.test"


async def csrf_token(client: Client, path: str = "/subscribe") -> str:
    page = await client.get(path)
    match = CSRF.search(await page.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def form(token: str, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Form pairs; a list value repeats its field (checkboxes)."""
    values: dict[str, Any] = {
        "csrf_token": token,
        "channel": "email",
        "scope": "page",
        "locale": "en",
        "time_zone": "Asia/Tokyo",
        **fields,
    }
    pairs = []
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, str(one)))
    return pairs


async def sign_up(client: Client, **fields: Any) -> ClientResponse:
    token = await csrf_token(client)
    return await client.post("/subscribe", data=form(token, fields))


async def outbox(client: Client, channel: str | None = None) -> list[dict[str, Any]]:
    """What the dev outbox kept, oldest first."""
    query = f"?channel={channel}" if channel else ""
    data: list[dict[str, Any]] = (await (await client.get(f"/dev/outbox.json{query}")).json())[
        "data"
    ]
    return list(reversed(data))


def link(text: str, path: str) -> str:
    """The path of the first link to ``path`` in a message."""
    match = re.search(re.escape(PUBLIC) + re.escape(path) + r"[^\s\"<>]+", text)
    assert match, f"no {path} link in {text!r}"
    return match.group(0).removeprefix(PUBLIC)


def without_tokens(html: str) -> str:
    return CSRF.sub('name="csrf_token" value=""', html)
