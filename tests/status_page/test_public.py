from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from status_page import create_app
from tests.conftest import Client, make_settings


class _Text(HTMLParser):
    """The page as a screen reader reads it: text, no CSS, nothing aria-hidden."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            hidden = tag in ("style", "script", "title") or ("aria-hidden", "true") in attrs
            self._hidden.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._hidden:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not any(self._hidden):
            self.parts.append(data)


async def _page(client: Client) -> str:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    parser = _Text()
    parser.feed(await response.text())
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


async def _post(
    client: Client, headers: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.request(
        "PATCH" if "/components/" in path else "POST", f"/api/v1{path}", json=body, headers=headers
    )
    assert response.status in (200, 201), await response.text()
    result: dict[str, Any] = await response.json()
    return result


def _in_order(page: str, *texts: str) -> bool:
    at = -1
    for text in texts:
        found = page.find(text, at + 1)
        if found < 0:
            return False
        at = found
    return True


async def test_an_empty_page_says_so_and_that_all_is_well(client: Client) -> None:
    page = await _page(client)

    assert "Test status" in page
    assert "All Systems Operational" in page
    assert "No components yet." in page
    assert "Active incidents" not in page
    assert "Maintenance" not in page


async def test_it_shows_components_by_group_with_their_status(
    client: Client, admin: dict[str, str]
) -> None:
    api = await _post(client, admin, "/components", {"name": "Public API", "position": 1})
    web = await _post(client, admin, "/components", {"name": "Website", "position": 0})
    sms = await _post(
        client, admin, "/components", {"name": "SMS delivery", "status": "partial_outage"}
    )
    await _post(client, admin, "/components", {"name": "Status page itself"})
    await _post(client, admin, "/components", {"name": "Secret backend", "visible": False})
    await _post(
        client,
        admin,
        "/component-groups",
        {"name": "Core", "position": 0, "components": [api["id"], web["id"]]},
    )
    await _post(
        client,
        admin,
        "/component-groups",
        {"name": "Notifications", "position": 1, "components": [sms["id"]]},
    )

    page = await _page(client)

    assert _in_order(
        page,
        "Status page itself Operational",
        "Core",
        "Website Operational",
        "Public API Operational",
        "Notifications",
        "SMS delivery Partial outage",
    )
    assert "Secret backend" not in page
    assert "No components yet." not in page


async def test_a_group_with_no_visible_components_is_not_shown(
    client: Client, admin: dict[str, str]
) -> None:
    hidden = await _post(client, admin, "/components", {"name": "Hidden", "visible": False})
    await _post(client, admin, "/components", {"name": "Website"})
    await _post(
        client, admin, "/component-groups", {"name": "Backstage", "components": [hidden["id"]]}
    )

    page = await _page(client)

    assert "Backstage" not in page
    assert "Website Operational" in page


@pytest.mark.parametrize(
    ("statuses", "sentence", "label"),
    [
        (["operational", "operational"], "All Systems Operational", "Operational"),
        (["operational", "under_maintenance"], "Service Under Maintenance", "Under maintenance"),
        (
            ["under_maintenance", "degraded_performance"],
            "Minor Service Outage",
            "Degraded performance",
        ),
        (["degraded_performance", "partial_outage"], "Partial System Outage", "Partial outage"),
        (["partial_outage", "major_outage"], "Major Service Outage", "Major outage"),
    ],
)
async def test_the_overall_sentence_follows_the_worst_component(
    client: Client, admin: dict[str, str], statuses: list[str], sentence: str, label: str
) -> None:
    for number, status in enumerate(statuses):
        await _post(client, admin, "/components", {"name": f"C{number}", "status": status})

    page = await _page(client)

    header = page.split("Components")[0]
    assert sentence in header
    assert f"C{len(statuses) - 1} {label}" in page


async def test_a_hidden_component_does_not_change_the_overall_sentence(
    client: Client, admin: dict[str, str]
) -> None:
    await _post(client, admin, "/components", {"name": "Website"})
    await _post(
        client,
        admin,
        "/components",
        {"name": "Internal", "status": "major_outage", "visible": False},
    )

    page = await _page(client)

    assert "All Systems Operational" in page
    assert "Major" not in page


async def test_an_active_incident_shows_its_latest_update_and_the_promised_next_one(
    client: Client, admin: dict[str, str]
) -> None:
    component = await _post(client, admin, "/components", {"name": "Checkout"})
    incident = await _post(
        client,
        admin,
        "/incidents",
        {
            "title": "Card payments failing",
            "body": "We are looking into failed card payments.",
            "impact": "major",
            "components": [{"component_id": component["id"], "status": "partial_outage"}],
        },
    )
    await _post(
        client,
        admin,
        f"/incidents/{incident['id']}/updates",
        {
            "status": "identified",
            "body": "A certificate expired at our card processor.",
            "next_update_by": "2030-01-01T06:30:00Z",
        },
    )

    page = await _page(client)

    assert _in_order(
        page,
        "Partial System Outage",
        "Active incidents",
        "Card payments failing (major impact)",
        "Identified",
        "A certificate expired at our card processor.",
        "next update by Jan 1, 2030 06:30 UTC",
        "Checkout Partial outage",
    )
    assert "We are looking into failed card payments." not in page


async def test_times_are_shown_in_the_pages_time_zone(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, admin: dict[str, str]
) -> None:
    settings = make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo")
    client = await aiohttp_client(create_app(settings))
    await _post(
        client,
        admin,
        "/incidents",
        {"title": "Slow", "body": "Looking", "next_update_by": "2030-01-01T06:30:00Z"},
    )

    page = await _page(client)

    assert "next update by Jan 1, 2030 15:30 JST" in page
    assert "Times in Asia/Tokyo." in page


async def test_resolved_and_private_incidents_are_not_shown(
    client: Client, admin: dict[str, str]
) -> None:
    resolved = await _post(client, admin, "/incidents", {"title": "Was down", "body": "Hm"})
    await _post(client, admin, f"/incidents/{resolved['id']}/resolve", {})
    await _post(
        client, admin, "/incidents", {"title": "Internal only", "body": "Hm", "public": False}
    )

    page = await _page(client)

    assert "Active incidents" not in page
    assert "Was down" not in page
    assert "Internal only" not in page


async def test_upcoming_maintenance_is_shown_with_its_window(
    client: Client, admin: dict[str, str]
) -> None:
    await _post(
        client,
        admin,
        "/maintenance",
        {
            "title": "Database upgrade",
            "body": "Checkout may be slow for a few minutes.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
        },
    )
    cancelled = await _post(
        client,
        admin,
        "/maintenance",
        {
            "title": "Cancelled work",
            "body": "Never mind.",
            "scheduled_for": "2030-02-01T02:00:00Z",
            "scheduled_until": "2030-02-01T04:00:00Z",
        },
    )
    await _post(client, admin, f"/maintenance/{cancelled['id']}/cancel", {})

    page = await _page(client)

    assert _in_order(
        page,
        "Maintenance",
        "Database upgrade (Scheduled)",
        "Checkout may be slow for a few minutes.",
        "Jan 1, 2030 02:00 UTC to Jan 1, 2030 04:00 UTC",
    )
    assert "Cancelled work" not in page
    assert "All Systems Operational" in page  # scheduled, not started


async def test_text_from_the_api_is_escaped(client: Client, admin: dict[str, str]) -> None:
    await _post(client, admin, "/components", {"name": "<script>alert(1)</script>"})
    await _post(client, admin, "/incidents", {"title": "<b>bold</b>", "body": "<img src=x>"})

    response = await client.get("/")
    html = await response.text()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "<img src=x>" not in html


async def test_healthz_says_ok(client: Client) -> None:
    response = await client.get("/healthz")

    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_a_component_shown_only_if_degraded_appears_when_it_is(
    client: Client, admin: dict[str, str]
) -> None:
    quiet = await _post(
        client, admin, "/components", {"name": "Fax gateway", "only_show_if_degraded": True}
    )
    await _post(client, admin, "/components", {"name": "Website"})

    while_fine = await _page(client)
    await _post(client, admin, f"/components/{quiet['id']}", {"status": "degraded_performance"})
    while_degraded = await _page(client)

    assert "Fax gateway" not in while_fine
    assert "Fax gateway Degraded performance" in while_degraded
