"""The in-app bell's JavaScript as host pages load it (``status_page/inbox_client.py``) and
the development example page (``status_page/dev_inbox.py``)."""

from __future__ import annotations

import re

from pytest_aiohttp import AiohttpClient

from config import Settings
from notifier import signing
from status_page import create_app, inbox_client
from tests.conftest import Client, make_settings

HOST_PAGE = "https://app.example.com"


async def test_the_client_is_served_as_a_cross_origin_module_revalidated_after_5_minutes(
    client: Client,
) -> None:
    response = await client.get(inbox_client.PATH, headers={"Origin": HOST_PAGE})

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "export function mount(" in await response.text()

    again = await client.get(inbox_client.PATH, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    assert await again.read() == b""


async def test_the_versioned_url_is_cached_for_good_and_an_old_version_is_gone(
    client: Client,
) -> None:
    current = inbox_client.load()

    response = await client.get(current.versioned_path)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert await response.read() == inbox_client.FILE.read_bytes()

    other = "0" * 12 if current.version != "0" * 12 else "1" * 12
    assert (await client.get(f"/inbox/forewarn-inbox.{other}.js")).status == 404


async def test_the_client_sets_message_text_as_text_only() -> None:
    # Message titles and bodies are text: never parsed as markup, whatever they hold.
    source = inbox_client.FILE.read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source)


async def test_the_example_page_mounts_the_bell_with_the_users_hash(
    client: Client, settings: Settings
) -> None:
    response = await client.get("/dev/inbox-example", params={"user": "u-7"})

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert inbox_client.load().versioned_path in page
    user_hash = signing.inapp_hash(settings.secret_key.get_secret_value(), "u-7")
    assert f'"hash": "{user_hash}"' in page


async def test_production_has_no_example_page_but_serves_the_client(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(database_url, redis_url, mode="production"))
    )

    assert (await client.get("/dev/inbox-example")).status == 404
    assert (await client.get(inbox_client.PATH)).status == 200
