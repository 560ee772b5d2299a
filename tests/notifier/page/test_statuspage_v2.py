"""Statuspage v2 documents as a tool that reads Statuspage reads them: summary.json's keys
and nesting, groups as ``group: true`` entries, the page indicator from the worst visible
component, and only public, unresolved incidents in the summary."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import components, incidents, maintenance
from notifier.db import utcnow
from notifier.page.statuspage_v2 import NAMES, Documents
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import AffectedComponent, IncidentCreate, IncidentResolve
from notifier.schemas.maintenance import MaintenanceCreate
from notifier.statuses import ComponentStatus
from notifier.tables import ComponentGroup

Sessions = async_sessionmaker[AsyncSession]
# Statuspage writes times as ISO 8601 UTC with milliseconds: 2024-01-02T03:04:05.678Z.
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def documents(sessions: Sessions, settings: Settings) -> Documents:
    docs = Documents(settings)
    async with sessions() as session:
        await docs.load(session)
    return docs


async def add(session: AsyncSession, name: str, status: str = "operational", **more: object) -> str:
    body = ComponentCreate.model_validate({"name": name, "status": status, **more})
    return (await components.create_component(session, body, now=utcnow())).id


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ([], "none", "All Systems Operational"),
        (["operational", "degraded_performance"], "minor", "Minor Service Outage"),
        (["partial_outage"], "major", "Partial System Outage"),
        (["partial_outage", "major_outage"], "critical", "Major Service Outage"),
        (["under_maintenance", "operational"], "maintenance", "Service Under Maintenance"),
    ],
)
async def test_the_page_indicator_is_the_worst_visible_components(
    sessions: Sessions, settings: Settings, statuses: list[str], indicator: str, description: str
) -> None:
    async with sessions() as session, session.begin():
        for n, status in enumerate(statuses):
            await add(session, f"C{n}", status)
        await add(session, "Hidden", "major_outage", visible=False)
    docs = await documents(sessions, settings)
    expected = {"indicator": indicator, "description": description}
    assert docs.render("status.json")["status"] == expected
    assert docs.render("summary.json")["status"] == expected


async def test_summary_has_statuspages_keys_and_groups_as_entries(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        group = ComponentGroup(name="Payments", position=1)
        session.add(group)
        await session.flush()
        api = await add(session, "API", position=0)
        cards = await add(session, "Cards", "partial_outage", group_id=group.id, position=1)
        wallets = await add(
            session, "Wallets", "degraded_performance", group_id=group.id, position=2
        )
    summary = (await documents(sessions, settings)).render("summary.json")
    assert list(summary) == [
        "page",
        "components",
        "incidents",
        "scheduled_maintenances",
        "status",
    ]
    page = summary["page"]
    assert (page["id"], page["name"], page["url"], page["time_zone"]) == (
        "forewarn",
        "Test status",
        "http://status.test",
        settings.page_time_zone,
    )
    assert STAMP.fullmatch(page["updated_at"])
    listed = [(c["name"], c["status"], c["group"]) for c in summary["components"]]
    assert listed == [
        ("API", "operational", False),
        ("Cards", "partial_outage", False),
        ("Wallets", "degraded_performance", False),
        ("Payments", "partial_outage", True),  # its members' worst
    ]
    first = summary["components"][0]
    assert (first["id"], first["group_id"], first["page_id"], first["showcase"]) == (
        api,
        None,
        "forewarn",
        True,
    )
    assert STAMP.fullmatch(first["created_at"])
    assert STAMP.fullmatch(first["updated_at"])
    assert summary["components"][-1]["components"] == [cards, wallets]


async def test_summary_has_public_unresolved_incidents_and_upcoming_maintenance(
    sessions: Sessions, settings: Settings
) -> None:
    start = utcnow()
    later = start + timedelta(minutes=1)
    async with sessions() as session, session.begin():
        api = await add(session, "API")
        affected = [AffectedComponent(component_id=api, status=ComponentStatus.major_outage)]
        slow = await incidents.create_incident(
            session,
            IncidentCreate(title="Slow API", body="Looking.", components=affected),
            posted_by="ops",
            now=start,
        )
        for title, public in [("Secret", False), ("Fixed", True)]:
            other = await incidents.create_incident(
                session,
                IncidentCreate(title=title, body="x", public=public),
                posted_by="ops",
                now=later,
            )
        await incidents.resolve(session, other.id, IncidentResolve(), posted_by="ops", now=later)
        window = MaintenanceCreate(
            title="Upgrade",
            body="Planned.",
            scheduled_for=start + timedelta(days=1),
            scheduled_until=start + timedelta(days=1, hours=1),
            components=[api],
        )
        await maintenance.create_maintenance(session, window, posted_by="ops", now=start)
    docs = await documents(sessions, settings)
    summary = docs.render("summary.json")
    [incident] = summary["incidents"]
    assert (incident["id"], incident["name"], incident["status"], incident["impact"]) == (
        slow.id,
        "Slow API",
        "investigating",
        "minor",
    )
    assert incident["shortlink"] == f"http://status.test/incidents/{slow.id}"
    assert [c["id"] for c in incident["components"]] == [api]
    [update] = incident["incident_updates"]
    assert (update["status"], update["body"], update["incident_id"]) == (
        "investigating",
        "Looking.",
        slow.id,
    )
    assert update["display_at"] == update["created_at"]
    assert update["affected_components"][0]["new_status"] == "major_outage"
    [planned] = summary["scheduled_maintenances"]
    assert (planned["name"], planned["status"], planned["impact"]) == (
        "Upgrade",
        "scheduled",
        "maintenance",
    )
    assert STAMP.fullmatch(planned["scheduled_for"])
    assert STAMP.fullmatch(planned["scheduled_until"])
    # The resolved incident is in incidents.json; the private one is nowhere.
    every = docs.render("incidents.json")["incidents"]
    assert [i["name"] for i in every] == ["Fixed", "Slow API"]  # newest first
    upcoming = docs.render("scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["name"] for m in upcoming] == ["Upgrade"]
    assert docs.render("scheduled-maintenances/active.json")["scheduled_maintenances"] == []


async def test_every_document_has_the_page_and_its_own_key(
    sessions: Sessions, settings: Settings
) -> None:
    docs = await documents(sessions, settings)
    for name in NAMES:
        rendered = docs.render(name)
        assert rendered["page"]["id"] == "forewarn"
        assert len(rendered) == (5 if name == "summary.json" else 2), name
