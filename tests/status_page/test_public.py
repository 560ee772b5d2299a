"""The home page as a visitor gets it: components and their state, open incidents and
maintenance, 90 days of uptime, in the page's time zone; and ``/healthz``
(``status_page/public.py``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from notifier import components
from notifier.schemas.components import ComponentCreate
from notifier.statuses import ComponentStatus
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.status_page.pages import (
    JA,
    Sessions,
    api,
    assert_headings_in_order,
    get,
    midnight,
    outage,
    outline,
    text_of,
)

# A no-break space: the uptime note's date ("since Dec 1, 2026") is one unit.
NBSP = "\xa0"


async def _page(client: Client) -> str:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    return text_of(await response.text())


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


async def test_resolved_incidents_are_past_and_private_ones_are_not_shown(
    client: Client, admin: dict[str, str]
) -> None:
    resolved = await _post(client, admin, "/incidents", {"title": "Was down", "body": "Hm"})
    await _post(client, admin, f"/incidents/{resolved['id']}/resolve", {})
    await _post(
        client, admin, "/incidents", {"title": "Internal only", "body": "Hm", "public": False}
    )

    page = await _page(client)

    assert "Active incidents" not in page
    assert _in_order(page, "Past incidents", "Was down", "Minor impact · Resolved")
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


# Uptime by day, promised updates and links


async def test_each_component_has_ninety_days_of_uptime_with_the_outage_day_and_its_incident(
    client: Client, sessions: Sessions
) -> None:
    created = datetime.now(UTC) - timedelta(days=10)
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="Orders API"), now=created
        )
    day = midnight(3)
    incident_id = await outage(
        sessions, component.id, start=day + timedelta(hours=10), end=day + timedelta(hours=12)
    )

    html = await get(client, "/")

    bar = re.search(r'<ol class="days"[^>]*>(.*?)</ol>', html, re.S)
    assert bar is not None
    days = re.findall(
        r'<li class="day (\w+)" tabindex="0">(.*?)</li>\s*(?=<li class="day|$)', bar[1], re.S
    )
    assert len(days) == 90
    assert [status for status, _ in days].count("nodata") == 79  # before it was created
    assert "No data" in text_of(days[0][1])
    outage_status, outage_tip = days[-4]
    assert outage_status == "major_outage"
    assert f'href="/incidents/{incident_id}"' in outage_tip
    day_text = day.strftime("%b %-d, %Y")
    assert text_of(outage_tip) == f"{day_text} : Major outage, 91.67% uptime API outage"
    assert days[-1][0] == "operational"
    page = text_of(html)
    # Counted from its creation, and said so: not "over the last 90 days".
    assert f"99.17% uptime since {created.strftime('%b %-d, %Y')}" in page
    assert "a partial outage as 30% down" in page


async def test_a_partial_outage_counts_as_thirty_percent_down_on_the_page(
    client: Client, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="Checkout"), now=midnight(5)
        )
    day = midnight(2)
    await outage(
        sessions,
        component.id,
        start=day,
        end=day + timedelta(hours=10),
        status=ComponentStatus.partial_outage,
    )

    page = text_of(await get(client, "/"))

    assert f"{day.strftime('%b %-d, %Y')} : Partial outage, 87.50% uptime" in page


async def test_an_incident_posted_late_shows_its_outage_from_the_day_it_started(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="Payments"), now=midnight(10)
        )
    started = midnight(3) + timedelta(hours=12)
    incident = await api(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Payments down",
            "body": "Card payments have been failing since Monday noon.",
            "notify": False,
            "started_at": started.isoformat(),
            "components": [{"component_id": component.id, "status": "major_outage"}],
        },
    )

    html = await get(client, "/")

    bar = re.search(r'<ol class="days"[^>]*>(.*?)</ol>', html, re.S)
    assert bar is not None
    days = re.findall(
        r'<li class="day (\w+)" tabindex="0">(.*?)</li>\s*(?=<li class="day|$)', bar[1], re.S
    )
    assert [status for status, _ in days[-5:]] == ["operational"] + ["major_outage"] * 4
    day_text = started.strftime("%b %-d, %Y")
    assert text_of(days[-4][1]) == f"{day_text} : Major outage, 50.00% uptime Payments down"
    assert f'href="/incidents/{incident["id"]}"' in days[-4][1]
    now_status = await client.get(f"/api/v1/components/{component.id}", headers=admin)
    assert (await now_status.json())["status"] == "major_outage"


async def test_a_days_tooltip_shows_on_hover_and_on_keyboard_focus_without_javascript(
    client: Client, admin: dict[str, str]
) -> None:
    await api(client, admin, "POST", "/components", {"name": "Website"})

    html = await get(client, "/")

    assert "<script" not in html
    assert ".day:not(:hover, :focus-within) > .tip" in html  # hidden only visually otherwise
    days = [
        attrs
        for tag, attrs in outline(html).tags
        if tag == "li" and "day" in (attrs.get("class") or "")
    ]
    assert len(days) == 90
    assert all(attrs.get("tabindex") == "0" for attrs in days)
    assert 'aria-label="Website: uptime by day"' in html
    assert 'href="#after-components"' in html  # a way past the 90 stops of each bar


async def test_the_days_follow_the_pages_time_zone(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, sessions: Sessions
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo"))
    )
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="API"), now=midnight(20)
        )
    # 16:00-17:00 UTC is 01:00-02:00 the next day in Tokyo.
    start = midnight(5) + timedelta(hours=16)
    await outage(sessions, component.id, start=start, end=start + timedelta(hours=1))

    page = text_of(await get(client, "/"))

    tokyo_day = (start + timedelta(hours=9)).strftime("%b %-d, %Y")
    utc_day = start.strftime("%b %-d, %Y")
    assert f"{tokyo_day} : Major outage, 95.83% uptime" in page
    assert f"{utc_day} : Operational, 100% uptime" in page


async def promising(client: Client, admin: dict[str, str], next_update_by: str) -> str:
    """An open incident promising its next update by then; returns its id."""
    body = {"title": "Card payments failing", "body": "Looking.", "next_update_by": next_update_by}
    incident = await api(client, admin, "POST", "/incidents", body)
    ident: str = incident["id"]
    return ident


async def test_active_incidents_link_to_their_page_with_the_promised_next_update(
    client: Client, admin: dict[str, str]
) -> None:
    incident_id = await promising(client, admin, "2030-01-01T06:30:00Z")

    html = await get(client, "/")

    assert f'<a href="/incidents/{incident_id}">Card payments failing</a>' in html
    assert "next update by Jan 1, 2030 06:30 UTC" in text_of(html)


async def test_a_promised_update_that_is_late_is_said_to_be_late(
    client: Client, admin: dict[str, str]
) -> None:
    path = f"/incidents/{await promising(client, admin, '2020-01-01T06:30:00Z')}"

    home = text_of(await get(client, "/"))
    page = text_of(await get(client, path))
    home_ja = text_of(await get(client, "/?lang=ja"))
    page_ja = text_of(await get(client, f"{path}?lang=ja"))

    assert "the next update was expected by Jan 1, 2020 06:30 UTC" in home
    assert "next update by" not in home
    assert "Next update expected by Jan 1, 2020 06:30 UTC" in page
    assert "次回の更新は 2020年1月1日 06:30 UTC までの予定でした。" in home_ja
    assert "2020年1月1日 06:30 UTC までの予定でした" in page_ja


async def test_maintenance_on_the_home_page_links_to_its_page(
    client: Client, admin: dict[str, str]
) -> None:
    item = await api(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Database upgrade",
            "body": "Read-only for a while.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
        },
    )

    html = await get(client, "/")

    assert f'<a href="/maintenance/{item["id"]}">Database upgrade</a>' in html


async def test_the_footer_links_history_feeds_api_docs_and_subscribing(client: Client) -> None:
    html = await get(client, "/")

    footer = html[html.index("<footer") :]
    for href in ("/history", "/feed.atom", "/feed.rss", "/api/v1/docs", "/subscribe"):
        assert f'href="{href}"' in footer
    assert "Subscribe to updates" in text_of(footer)
    assert "Times in UTC." in text_of(footer)


# The recent past, the phone's shorter bars and a young component's uptime


async def test_the_last_seven_days_list_their_incidents_and_say_when_quiet(
    client: Client, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="API"), now=midnight(30)
        )
    day = midnight(2) + timedelta(hours=9)
    incident_id = await outage(sessions, component.id, start=day, end=day + timedelta(hours=1))
    await outage(
        sessions,
        component.id,
        start=midnight(8),
        end=midnight(8) + timedelta(hours=1),
        title="Too old for the home page",
    )

    html = await get(client, "/")
    page = text_of(html)

    past = page[page.index("Past incidents ") :]
    dates = [midnight(n).strftime("%b %-d, %Y") for n in range(7)]
    assert _in_order(
        past,
        f"{dates[0]} No incidents reported today.",
        f"{dates[1]} No incidents reported.",
        f"{dates[2]} API outage Major impact · Resolved",
        f"{dates[3]} No incidents reported.",
        f"{dates[6]} No incidents reported.",
    )
    assert past.count("No incidents reported") == 6
    assert f'<a href="/incidents/{incident_id}">API outage</a>' in html
    assert "Too old for the home page" not in past  # in its bar still, not listed
    assert_headings_in_order(html)


async def test_the_recent_days_follow_the_pages_time_zone_in_japanese(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, sessions: Sessions
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo"))
    )
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="API"), now=midnight(20)
        )
    # 16:00 UTC is 01:00 the next day in Tokyo.
    start = midnight(3) + timedelta(hours=16)
    await outage(sessions, component.id, start=start, end=start + timedelta(minutes=30))

    page = text_of(await get(client, "/", headers=JA))

    tokyo = start + timedelta(hours=9)
    assert _in_order(page, "過去の障害", f"{tokyo.year}年{tokyo.month}月{tokyo.day}日 API outage")
    assert "報告された障害はありません。" in page
    assert "以降の稼働率" in page  # since its creation, 20 days ago


async def test_a_component_younger_than_the_bar_counts_uptime_since_its_creation(
    client: Client, sessions: Sessions
) -> None:
    created = midnight(0) + timedelta(minutes=1)
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="New API"), now=created
        )
    await outage(sessions, component.id, start=created, end=created + timedelta(seconds=5))

    html = await get(client, "/")
    page = text_of(html)

    today = created.strftime("%b %-d, %Y")
    assert "% uptime over the last" not in page
    assert page.count(f"% uptime since {today}") == 2  # the 90-day bar and the phone's 30
    assert "New API Operational" in page
    # The date is one unit: it never wraps between "Dec" and "1" (no-break spaces).
    unbroken = today.replace(" ", NBSP)
    assert html.count(f"% uptime since {unbroken}") == 2
    assert f"since {today}" not in html


async def test_an_older_component_says_its_range_on_wide_and_narrow_screens(
    client: Client, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="Website"), now=midnight(45)
        )
    day = midnight(40)
    await outage(sessions, component.id, start=day, end=day + timedelta(hours=12))

    html = await get(client, "/")
    page = text_of(html)

    created = midnight(45).strftime("%b %-d, %Y")
    # Over its 45 days and a half-day outage, and the last 30 days all up.
    assert re.search(rf"9\d\.\d\d% uptime since {created}", page)
    assert "100% uptime over the last 30 days" in page
    assert re.search(r'<span class="on-wide">90 days ago</span>', html)
    assert re.search(r'<span class="on-narrow">30 days ago</span>', html)
    assert "ol.days > li:nth-child(-n+60) { display: none; }" in html
    ja = text_of(await get(client, "/", headers=JA))
    assert "過去30日間の稼働率 100%" in ja
