"""The public pages of incidents and maintenance as a visitor gets them: one page per
incident and per maintenance, and the history by month (``status_page/public.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pytest_aiohttp import AiohttpClient

from notifier import components, incidents, maintenance
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import AffectedComponent, IncidentCreate, IncidentUpdateCreate
from notifier.schemas.maintenance import MaintenanceCreate, MaintenancePatch
from notifier.statuses import ComponentStatus, IncidentStatus, MaintenanceStatus
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.status_page.pages import (
    Sessions,
    api,
    assert_headings_in_order,
    get,
    in_order,
    midnight,
    outage,
    text_of,
)

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
        json={"given_name": "Customer", "email": "cust-1@example.com"},
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
