"""The public pages as a visitor gets them: home with its uptime bars, one page per
incident and maintenance, the history by month; in English and Japanese."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import status_page
from notifier import components, incidents, maintenance
from notifier.page.overview import indicator
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import (
    AffectedComponent,
    IncidentCreate,
    IncidentResolve,
    IncidentUpdateCreate,
)
from notifier.schemas.maintenance import MaintenanceCreate, MaintenancePatch
from notifier.statuses import ComponentStatus, IncidentStatus, MaintenanceStatus
from status_page import create_app
from status_page.html import Templates
from tests.conftest import Client, make_settings
from tests.status_page.test_public import _Text

Sessions = async_sessionmaker[AsyncSession]
JA = {"Accept-Language": "ja"}


class _Outline(HTMLParser):
    """Headings, landmarks and the attributes of every element, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), " ".join("".join(self._heading).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


async def get(
    client: Client, path: str, status: int = 200, headers: dict[str, str] | None = None
) -> str:
    response = await client.get(path, headers=headers, allow_redirects=False)
    assert response.status == status, await response.text()
    return await response.text()


async def api(
    client: Client, headers: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.request(method, f"/api/v1{path}", json=body, headers=headers)
    assert response.status in (200, 201), await response.text()
    result: dict[str, Any] = await response.json()
    return result


def in_order(page: str, *texts: str) -> None:
    at = -1
    for text in texts:
        found = page.find(text, at + 1)
        assert found > at, f"{text!r} not found after position {at} in {page!r}"
        at = found


def assert_headings_in_order(html: str) -> None:
    levels = [level for level, _ in outline(html).headings]
    assert levels[0] == 1
    assert levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, outline(html).headings


def midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


async def outage(
    sessions: Sessions,
    component_id: str,
    *,
    start: datetime,
    end: datetime,
    title: str = "API outage",
    status: ComponentStatus = ComponentStatus.major_outage,
) -> str:
    """A public incident that gave the component ``status`` from start to end."""
    async with sessions() as session, session.begin():
        incident = await incidents.create_incident(
            session,
            IncidentCreate(
                title=title,
                body="Requests are failing.",
                impact="major",
                notify=False,
                components=[AffectedComponent(component_id=component_id, status=status)],
            ),
            posted_by="test",
            now=start,
        )
        await incidents.resolve(
            session,
            incident.id,
            IncidentResolve(body="Fixed.", notify=False),
            posted_by="test",
            now=end,
        )
    return incident.id


# Home


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
    assert "99.17% uptime over the last 90 days" in page
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


def test_the_english_overall_sentence_is_the_one_the_json_api_gives() -> None:
    templates = Templates(make_settings("sqlite+aiosqlite://", ""))
    macros = templates.environment("en").get_template("_macros.html").module
    words = macros.OVERALL  # type: ignore[attr-defined]

    for status in ComponentStatus:
        assert words[status] == indicator([status])[1]


# Incident pages


async def test_an_incident_page_shows_its_timeline_newest_first_and_what_it_affects(
    client: Client, admin: dict[str, str]
) -> None:
    checkout = await api(client, admin, "POST", "/components", {"name": "Checkout", "position": 1})
    website = await api(client, admin, "POST", "/components", {"name": "Website", "position": 0})
    hidden = await api(client, admin, "POST", "/components", {"name": "Ledger", "visible": False})
    incident = await api(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Card payments failing",
            "body": "We are looking into **failed** card payments.",
            "impact": "critical",
            "components": [
                {"component_id": checkout["id"], "status": "major_outage"},
                {"component_id": website["id"], "status": "degraded_performance"},
                {"component_id": hidden["id"], "status": "major_outage"},
            ],
        },
    )
    path = f"/incidents/{incident['id']}"
    await api(
        client,
        admin,
        "POST",
        f"{path}/updates",
        {
            "status": "identified",
            "body": "A certificate expired.",
            "next_update_by": "2030-01-01T06:30:00Z",
        },
    )

    html = await get(client, path)
    page = text_of(html)

    in_order(
        page,
        "Card payments failing",
        "Identified (critical impact)",
        "ongoing for less than a minute",
        "Next update by Jan 1, 2030 06:30 UTC",
        "Affected components Website: Degraded performance",  # icons are aria-hidden
    )
    assert "Website: Degraded performance Checkout: Major outage" in page
    assert "Ledger" not in page
    in_order(page, "Updates", "Identified A certificate expired.", "Investigating We are looking")
    assert "<strong>failed</strong>" in html
    assert "<title>Card payments failing · Test status</title>" in html
    assert_headings_in_order(html)


async def test_a_resolved_incident_shows_how_long_it_lasted(
    client: Client, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="API"), now=midnight(30)
        )
    start = midnight(3) + timedelta(hours=10)
    incident_id = await outage(
        sessions, component.id, start=start, end=start + timedelta(hours=2, minutes=5)
    )

    page = text_of(await get(client, f"/incidents/{incident_id}"))

    when = start.strftime("%b %-d, %Y")
    assert f"{when} 10:00 UTC to {when} 12:05 UTC (2 hours 5 minutes)" in page
    assert "Resolved (major impact)" in page
    assert "Affected components API" in page  # no status: it no longer gives one
    assert "Next update" not in page


async def test_markdown_in_updates_never_renders_a_script(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await api(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Oops",
            "body": "<script>alert(1)</script> [click](javascript:alert(2)) and *fine*",
        },
    )

    html = await get(client, f"/incidents/{incident['id']}")

    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html
    assert "<em>fine</em>" in html


async def test_unknown_private_and_delivery_problem_ids_are_not_found(
    client: Client, admin: dict[str, str]
) -> None:
    private = await api(
        client, admin, "POST", "/incidents", {"title": "Internal", "body": "Hush.", "public": False}
    )
    response = await client.put(
        "/api/v1/customers/cust-1",
        json={"name": "Customer", "email": "cust-1@example.com"},
        headers=admin,
    )
    assert response.status == 201
    problem = await api(
        client,
        admin,
        "POST",
        "/delivery-problems",
        {"reference": "ORD-1", "kind": "delayed", "body": "Late.", "customers": ["cust-1"]},
    )

    for path in ("/incidents/nope", f"/incidents/{private['id']}", f"/incidents/{problem['id']}"):
        html = await get(client, path, status=404)
        assert "Not found" in text_of(html)
        assert "Internal" not in html
        assert_headings_in_order(html)


async def test_an_incident_address_of_a_maintenance_leads_to_the_maintenance_page(
    client: Client, admin: dict[str, str]
) -> None:
    item = await api(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Upgrade",
            "body": "Soon.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
        },
    )

    response = await client.get(f"/incidents/{item['id']}?lang=ja", allow_redirects=False)

    assert response.status == 302
    assert response.headers["Location"] == f"/maintenance/{item['id']}?lang=ja"


# Maintenance pages


async def test_a_maintenance_page_shows_its_window_progress_and_updates(
    client: Client, sessions: Sessions
) -> None:
    start = midnight(2) + timedelta(hours=1)
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="Database"), now=midnight(30)
        )
        item = await maintenance.create_maintenance(
            session,
            MaintenanceCreate(
                title="Database upgrade",
                body="Orders may be read-only.",
                scheduled_for=start,
                scheduled_until=start + timedelta(hours=2),
                components=[component.id],
                notify=False,
            ),
            posted_by="test",
            now=start - timedelta(days=1),
        )
        for status, after in (
            (MaintenanceStatus.in_progress, timedelta(0)),
            (MaintenanceStatus.completed, timedelta(minutes=90)),
        ):
            await maintenance.patch_maintenance(
                session,
                item.id,
                MaintenancePatch(status=status, notify=False),
                posted_by="test",
                now=start + after,
            )

    html = await get(client, f"/maintenance/{item.id}")
    page = text_of(html)

    date = start.strftime("%b %-d, %Y")
    in_order(
        page,
        "Database upgrade",
        "Completed (scheduled maintenance)",
        f"Scheduled window {date} 01:00 UTC to {date} 03:00 UTC",
        f"Actual time {date} 01:00 UTC to {date} 02:30 UTC (1 hour 30 minutes)",
        "Affected components Database",
        "Updates",
        "Completed Scheduled maintenance has been completed.",
        "In progress Scheduled maintenance is now in progress.",
        "Scheduled Orders may be read-only.",
    )
    assert_headings_in_order(html)


async def test_cancelled_private_and_unknown_maintenance_are_not_found(
    client: Client, admin: dict[str, str]
) -> None:
    window = {"scheduled_for": "2030-01-01T02:00:00Z", "scheduled_until": "2030-01-01T04:00:00Z"}
    cancelled = await api(
        client, admin, "POST", "/maintenance", {"title": "Off", "body": "Planned.", **window}
    )
    await api(client, admin, "POST", f"/maintenance/{cancelled['id']}/cancel", {})
    private = await api(
        client,
        admin,
        "POST",
        "/maintenance",
        {"title": "Hush", "body": "Planned.", "public": False, **window},
    )
    incident = await api(client, admin, "POST", "/incidents", {"title": "An incident", "body": "x"})

    for item_id in (cancelled["id"], private["id"], incident["id"], "nope"):
        await get(client, f"/maintenance/{item_id}", status=404)
    await get(client, f"/incidents/{cancelled['id']}", status=404)


# History


async def _history_fixture(sessions: Sessions) -> dict[str, str]:
    """Incidents and maintenance in October and November 2025, by title to id."""
    ids = {}
    async with sessions() as session, session.begin():
        component = await components.create_component(
            session, ComponentCreate(name="API"), now=datetime(2025, 1, 1, tzinfo=UTC)
        )
        for title, started, public in (
            ("September outage", datetime(2025, 9, 3, 8, tzinfo=UTC), True),
            ("Early November outage", datetime(2025, 11, 2, 8, tzinfo=UTC), True),
            ("Late November outage", datetime(2025, 11, 20, 8, tzinfo=UTC), True),
            ("Private November outage", datetime(2025, 11, 21, 8, tzinfo=UTC), False),
            # 20:00 UTC on 31 October is 1 November in Tokyo.
            ("Halloween night outage", datetime(2025, 10, 31, 20, tzinfo=UTC), True),
        ):
            incident = await incidents.create_incident(
                session,
                IncidentCreate(
                    title=title,
                    body="Down.",
                    impact="minor",
                    public=public,
                    notify=False,
                    components=[
                        AffectedComponent(
                            component_id=component.id, status=ComponentStatus.partial_outage
                        )
                    ],
                ),
                posted_by="test",
                now=started,
            )
            await incidents.post_update(
                session,
                incident.id,
                IncidentUpdateCreate(status=IncidentStatus.resolved, body="Fixed.", notify=False),
                posted_by="test",
                now=started + timedelta(minutes=45),
            )
            ids[title] = incident.id
        work = await maintenance.create_maintenance(
            session,
            MaintenanceCreate(
                title="November maintenance",
                body="Planned.",
                scheduled_for=datetime(2025, 11, 10, 1, tzinfo=UTC),
                scheduled_until=datetime(2025, 11, 10, 2, tzinfo=UTC),
                components=[component.id],
                notify=False,
            ),
            posted_by="test",
            now=datetime(2025, 11, 1, tzinfo=UTC),
        )
        ids["November maintenance"] = work.id
    return ids


async def test_history_shows_a_month_newest_first_with_links_to_the_months_around_it(
    client: Client, sessions: Sessions
) -> None:
    ids = await _history_fixture(sessions)

    html = await get(client, "/history?month=2025-11")
    page = text_of(html)

    in_order(
        page,
        "Incident history",
        "November 2025",
        "Late November outage Minor impact · Resolved",
        "Nov 20, 2025 08:00 UTC to Nov 20, 2025 08:45 UTC (45 minutes)",
        "November maintenance Maintenance · Scheduled",
        "Early November outage",
        "← October 2025",
        "December 2025 →",
    )
    assert "Private" not in page
    assert "Halloween" not in page
    assert "September" not in page
    assert f'href="/incidents/{ids["Late November outage"]}"' in html
    assert f'href="/maintenance/{ids["November maintenance"]}"' in html
    assert 'href="?month=2025-10" rel="prev"' in html
    assert 'href="?month=2025-12" rel="next"' in html
    assert_headings_in_order(html)


async def test_an_empty_month_says_so_and_the_oldest_month_links_no_further_back(
    client: Client, sessions: Sessions
) -> None:
    await _history_fixture(sessions)

    empty = text_of(await get(client, "/history?month=2025-08"))
    first = await get(client, "/history?month=2025-09")

    assert "No incidents or maintenance this month." in empty
    assert "September outage" in text_of(first)
    assert 'rel="prev"' not in first


async def test_history_defaults_to_this_month_with_no_link_to_the_future(client: Client) -> None:
    html = await get(client, "/history")

    this_month = datetime.now(UTC).strftime("%B %Y")
    assert this_month in text_of(html)
    assert 'rel="next"' not in html
    assert 'rel="prev"' not in html  # nothing older exists
    assert "No incidents or maintenance this month." in text_of(html)


async def test_history_months_follow_the_pages_time_zone(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, sessions: Sessions
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo"))
    )
    await _history_fixture(sessions)

    november = text_of(await get(client, "/history?month=2025-11"))
    october = text_of(await get(client, "/history?month=2025-10"))

    assert "Halloween night outage" in november
    assert "Nov 1, 2025 05:00 JST" in november
    assert "Halloween" not in october


@pytest.mark.parametrize("month", ["2025-13", "25-11", "2025-1", "junk", "0000-01", "9999-12"])
async def test_a_malformed_month_is_not_found(client: Client, month: str) -> None:
    await get(client, f"/history?month={month}", status=404)


# Languages and accessibility


async def _everything(client: Client, admin: dict[str, str]) -> list[str]:
    """One of each page, with content: their paths."""
    component = await api(client, admin, "POST", "/components", {"name": "Website"})
    await api(
        client, admin, "POST", "/component-groups", {"name": "Web", "components": [component["id"]]}
    )
    incident = await api(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Slow pages",
            "body": "Looking.",
            "impact": "major",
            "components": [{"component_id": component["id"], "status": "partial_outage"}],
            "next_update_by": "2030-01-01T06:30:00Z",
        },
    )
    item = await api(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Upgrade",
            "body": "Planned.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
            "components": [component["id"]],
        },
    )
    return ["/", f"/incidents/{incident['id']}", f"/maintenance/{item['id']}", "/history"]


async def test_every_page_has_landmarks_and_headings_in_order(
    client: Client, admin: dict[str, str]
) -> None:
    for path in await _everything(client, admin):
        html = await get(client, path)
        tags = [tag for tag, _ in outline(html).tags]
        assert_headings_in_order(html)
        for landmark in ("header", "main", "footer", "nav"):
            assert landmark in tags, (path, landmark)
        assert tags.count("main") == 1
        navs = [attrs.get("aria-label") for tag, attrs in outline(html).tags if tag == "nav"]
        assert len(set(navs)) == len(navs), navs  # each navigation named apart


@pytest.mark.parametrize(
    "how",
    [
        {"query": "?lang=ja"},
        {"headers": {"Cookie": "lang=ja"}},
        {"headers": JA},
    ],
    ids=["query", "cookie", "accept-language"],
)
async def test_every_page_is_in_japanese_when_asked(
    client: Client, admin: dict[str, str], how: dict[str, Any]
) -> None:
    paths = await _everything(client, admin)
    now = datetime.now(UTC)
    japanese = {
        "/": [
            "一部のシステムで障害が発生しています",
            "発生中の障害",
            "影響度：大",  # noqa: RUF001  (Japanese punctuation)
            "調査中",
            "次回の更新は 2030年1月1日 06:30 UTC までにお知らせします",
            "メンテナンス",
            "予定",
            "2030年1月1日 02:00 UTC 〜 2030年1月1日 04:00 UTC",
            "部分的な障害",
            "部分的な障害, 稼働率 ",
            "過去90日間の稼働率 ",
            "部分的な障害を 30% の停止",
        ],
        "incidents": [
            "期間",
            "から継続中（1分未満経過）",  # noqa: RUF001
            "次回の更新",
            "影響を受けるコンポーネント",
            "Website: 部分的な障害",
            "更新情報",
            "新しい順に表示しています。",
        ],
        "maintenance": [
            "計画メンテナンス",
            "予定時間",
            "2030年1月1日 02:00 UTC 〜 2030年1月1日 04:00 UTC",
        ],
        "/history": [
            "障害履歴",
            f"{now.year}年{now.month}月",
            "Slow pages",
            "影響度：大 · 調査中",  # noqa: RUF001
        ],
    }
    footer = ["時刻は UTC で表示しています。", "更新情報の配信登録", "障害履歴", "API ドキュメント"]

    for path in paths:
        html = await get(client, path + how.get("query", ""), headers=how.get("headers"))
        page = text_of(html)
        assert '<html lang="ja">' in html
        key = path if path in japanese else path.split("/")[1]
        for words in japanese[key] + footer:
            assert words in page, (path, words)
        for english in ("Operational", "Updates", "Incident history", "impact", "Posted"):
            assert english not in page, (path, english)


async def test_a_not_found_page_is_in_the_visitors_language(client: Client) -> None:
    html = await get(client, "/incidents/nope", status=404, headers=JA)

    assert '<html lang="ja">' in html
    assert "ページが見つかりません" in text_of(html)


# Colours


def _palettes() -> dict[str, dict[str, str]]:
    css = Path(status_page.__file__).with_name("templates").joinpath("base.html").read_text()
    light, dark = re.findall(r":root \{(.*?)\}", css, re.S)[:2]
    return {
        name: dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", block))
        for name, block in (("light", light), ("dark", dark))
    }


def _luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_colour_has_aa_contrast_on_the_background_in_both_schemes(scheme: str) -> None:
    palette = _palettes()[scheme]
    text = ["fg", "muted", "link", "ok", "minor", "major", "critical", "maint"]

    assert set(text) | {"bg", "nodata", "line"} <= set(palette)
    for name in text:  # text, and the day bars of the same colours
        assert contrast(palette[name], palette["bg"]) >= 4.5, name
    assert contrast(palette["nodata"], palette["bg"]) >= 3, "no-data bars"
