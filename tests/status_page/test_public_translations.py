"""The public pages in the visitor's language show the records' translations (issue 15):
incident and maintenance titles and update bodies, component and group names, on the
home, incident, maintenance and history pages; the record's own text where there is no
translation, and always in English. Requests go through the page cache, which keeps
each language apart."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Client
from tests.status_page.pages import JA, api, get, text_of


async def _records(client: Client, admin: dict[str, str]) -> dict[str, Any]:
    component = await api(
        client,
        admin,
        "POST",
        "/components",
        {"name": "Checkout API", "translations": {"ja": {"name": "決済API"}}},
    )
    untranslated = await api(client, admin, "POST", "/components", {"name": "Website"})
    await api(
        client,
        admin,
        "POST",
        "/component-groups",
        {
            "name": "Storefront",
            "components": [component["id"], untranslated["id"]],
            "translations": {"ja": {"name": "ストア"}},
        },
    )
    incident = await api(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "components": [{"component_id": component["id"], "status": "partial_outage"}],
            "translations": {
                "ja": {"title": "決済エラー", "body": "一部のお支払いが失敗しております。"}
            },
        },
    )
    await api(
        client,
        admin,
        "POST",
        f"/incidents/{incident['id']}/updates",
        {"status": "identified", "body": "A faulty deploy."},  # no Japanese: English shows
    )
    item = await api(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Database upgrade",
            "body": "Checkout may be slow.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
            "components": [component["id"]],
            "translations": {
                "ja": {"title": "データベースの更新", "body": "決済が遅くなる場合があります。"}
            },
        },
    )
    return {"incident": incident["id"], "maintenance": item["id"]}


async def test_the_home_page_in_japanese_shows_the_japanese_text(
    client: Client, admin: dict[str, str]
) -> None:
    await _records(client, admin)

    japanese = text_of(await get(client, "/", headers=JA))
    english = text_of(await get(client, "/"))

    for said in (
        "決済エラー",
        "決済API",
        "ストア",
        "データベースの更新",
        "決済が遅くなる場合があります。",
    ):
        assert said in japanese
        assert said not in english
    assert "Website" in japanese  # no translation: its own name
    assert "A faulty deploy." in japanese  # the latest update has no Japanese
    for said in ("Checkout errors", "Checkout API", "Storefront", "Database upgrade"):
        assert said in english
        assert said not in japanese
    # A second look comes from the cache: still each in its own language.
    assert "決済エラー" in text_of(await get(client, "/", headers=JA))
    assert "Checkout errors" in text_of(await get(client, "/"))


async def test_the_incident_and_maintenance_pages_in_japanese(
    client: Client, admin: dict[str, str]
) -> None:
    ids = await _records(client, admin)
    incident, item = f"/incidents/{ids['incident']}", f"/maintenance/{ids['maintenance']}"

    page = await get(client, incident, headers=JA)
    english = text_of(await get(client, incident))

    assert "<title>決済エラー · Test status</title>" in page
    said = text_of(page)
    assert "一部のお支払いが失敗しております。" in said
    assert "A faulty deploy." in said  # fallback, per update
    assert "決済API" in said  # the affected component
    assert "Checkout errors" in english
    assert "Some payments fail." in english
    assert "Checkout API" in english
    maintenance = text_of(await get(client, item, headers=JA))
    assert "データベースの更新" in maintenance
    assert "決済が遅くなる場合があります。" in maintenance
    assert "Database upgrade" in text_of(await get(client, item))


async def test_the_history_lists_titles_in_the_visitors_language(
    client: Client, admin: dict[str, str]
) -> None:
    await _records(client, admin)

    assert "決済エラー" in text_of(await get(client, "/history?lang=ja"))
    assert "Checkout errors" in text_of(await get(client, "/history?lang=en"))


async def test_the_json_api_and_feeds_keep_the_base_language(
    client: Client, admin: dict[str, str]
) -> None:
    await _records(client, admin)

    summary = json.loads(await get(client, "/api/v2/summary.json", headers=JA))
    feed = await get(client, "/feed.atom", headers=JA)

    assert [i["name"] for i in summary["incidents"]] == ["Checkout errors"]
    assert {c["name"] for c in summary["components"]} >= {"Checkout API", "Website"}
    assert "Checkout errors" in feed
    assert "決済" not in feed
