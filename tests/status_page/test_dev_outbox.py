"""``/dev/outbox``: what the dev outbox kept instead of sending, for a developer
(``status_page/dev_outbox.py``); it does not exist in production."""

from __future__ import annotations

from typing import Any

from pytest_aiohttp import AiohttpClient

from config import Settings
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.notifier.delivery.test_sending import run_worker
from tests.status_page.signups import sign_up


async def document(client: Client, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/dev/outbox.json{query}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    data: list[dict[str, Any]] = (await response.json())["data"]
    return data


async def test_the_json_keeps_one_channel_and_bounds_the_limit(
    client: Client, settings: Settings
) -> None:
    await sign_up(client, email="sam@example.com")
    await sign_up(client, channel="sms", phone="+81 90 1234 5678")
    await run_worker(settings)

    everything = await document(client)
    texts = await document(client, "?channel=sms")

    assert sorted(m["channel"] for m in everything) == ["email", "sms"]
    assert [(m["channel"], m["to"]) for m in texts] == [("sms", "+819012345678")]
    assert [m["id"] for m in everything] == sorted((m["id"] for m in everything), reverse=True)
    assert len(await document(client, "?limit=1")) == 1
    assert len(await document(client, "?limit=0")) == 1  # at least one
    assert len(await document(client, "?limit=many")) == 2  # the default, 100


async def test_the_page_shows_each_message_with_its_subject(
    client: Client, settings: Settings
) -> None:
    empty = await client.get("/dev/outbox")
    await sign_up(client, email="sam@example.com")
    await run_worker(settings)

    response = await client.get("/dev/outbox")

    assert "Nothing yet." in await empty.text()
    page = await response.text()
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "EMAIL to sam@example.com: [Test status] Confirm your subscription" in page


async def test_production_has_no_outbox(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(database_url, redis_url, mode="production"))
    )

    for path in ("/dev/outbox", "/dev/outbox.json"):
        assert (await client.get(path)).status == 404, path
