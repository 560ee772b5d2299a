"""``/dev/outbox``: what the dev outbox kept instead of sending, for a developer
(``status_page/dev_outbox.py``); it does not exist in production."""

from __future__ import annotations

import re
from typing import Any

from pytest_aiohttp import AiohttpClient

from config import Settings
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.notifier.delivery.test_delivery_flow import put_customer
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

    for path in ("/dev/outbox", "/dev/outbox.json", "/dev/outbox/1.html"):
        assert (await client.get(path)).status == 404, path


async def test_an_emails_html_part_is_shown_sandboxed_as_the_recipient_gets_it(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    await put_customer(
        client,
        admin,
        "sam",
        given_name="Sam",
        email="sam@example.com",
        consent={"channels": ["email"], "legal_basis": "contract"},
        follows={"page": True},
    )
    created = await client.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "body": "Some payments **fail**."},
        headers=admin,
    )
    assert created.status == 201, await created.text()
    await run_worker(settings)
    [message] = await document(client, "?channel=email")

    page = await (await client.get("/dev/outbox")).text()
    response = await client.get(f"/dev/outbox/{message['id']}.html")

    [frame] = re.findall(r"<iframe[^>]*>", page)
    assert f'src="/dev/outbox/{message["id"]}.html"' in frame
    # Sandboxed without allow-scripts or allow-same-origin: it runs nothing, reaches nothing.
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "Hi Sam,\n" in page  # the text part, beside it
    assert response.status == 200
    assert response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox allow-popups allow-popups-to-escape-sandbox" in policy
    assert "script" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = await response.text()
    assert html == message["html"]
    assert "Hi Sam," in html
    assert "<strong>fail</strong>" in html
    assert f'href="{settings.public_url}"' in html
    assert f'href="{settings.public_url}manage/' in html
    assert f'href="{settings.public_url}unsubscribe/' in html
    assert "%%" not in html


async def test_an_unknown_message_or_one_without_html_has_no_html_view(
    client: Client, settings: Settings
) -> None:
    await sign_up(client, channel="sms", phone="+81 90 1234 5678")
    await run_worker(settings)
    [text] = await document(client)

    for path in (
        f"/dev/outbox/{text['id']}.html",
        f"/dev/outbox/{text['id'] + 1000}.html",
        "/dev/outbox/99999999999999999999.html",
        "/dev/outbox/x.html",
    ):
        assert (await client.get(path)).status == 404, path
    assert "<iframe" not in await (await client.get("/dev/outbox")).text()
