"""Atom and RSS feeds as a feed reader reads them: public incidents and maintenance only
(never cancelled), newest first, for the page or one visible component, each entry with
its updates as HTML."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import components, incidents, maintenance
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.page.feeds import feed
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import AffectedComponent, IncidentCreate
from notifier.schemas.maintenance import MaintenanceCancel, MaintenanceCreate

Sessions = async_sessionmaker[AsyncSession]
ATOM = "{http://www.w3.org/2005/Atom}"


def atom_entries(xml: bytes) -> list[tuple[str, str]]:
    """(title, content HTML) of each Atom entry, in the feed's order."""
    root = ElementTree.fromstring(xml)
    return [
        (e.findtext(f"{ATOM}title") or "", e.findtext(f"{ATOM}content") or "")
        for e in root.findall(f"{ATOM}entry")
    ]


async def setup(session: AsyncSession) -> tuple[str, str]:
    """API and Hidden components; incidents on each, a private one, and a maintenance
    scheduled and one cancelled. -> (API's id, Hidden's id)."""
    start = utcnow()
    api = await components.create_component(session, ComponentCreate(name="API"), now=start)
    hidden = await components.create_component(
        session, ComponentCreate(name="Hidden", visible=False), now=start
    )

    async def incident(title: str, *on: str, public: bool = True, minutes: int) -> None:
        body = IncidentCreate(
            title=title,
            body="We are **looking**.",
            components=[AffectedComponent(component_id=c) for c in on],
            public=public,
        )
        await incidents.create_incident(
            session, body, posted_by="ops", now=start + timedelta(minutes=minutes)
        )

    await incident("Site down", minutes=1)
    await incident("Slow API", api.id, minutes=2)
    await incident("Secret", api.id, public=False, minutes=3)
    window = MaintenanceCreate(
        title="Database upgrade",
        body="Planned.",
        scheduled_for=start + timedelta(days=1),
        scheduled_until=start + timedelta(days=1, hours=1),
        components=[api.id],
    )
    await maintenance.create_maintenance(
        session, window, posted_by="ops", now=start + timedelta(minutes=4)
    )
    dropped = await maintenance.create_maintenance(
        session,
        window.model_copy(update={"title": "Dropped"}),
        posted_by="ops",
        now=start + timedelta(minutes=5),
    )
    await maintenance.cancel_maintenance(
        session, dropped.id, MaintenanceCancel(), posted_by="ops", now=start + timedelta(minutes=5)
    )
    return api.id, hidden.id


async def test_the_page_feed_has_public_entries_newest_first(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        await setup(session)
    async with sessions() as session:
        entries = atom_entries(await feed(session, settings, kind="atom"))
    assert [title for title, _html in entries] == [
        "Maintenance: Database upgrade (scheduled)",
        "Incident: Slow API (investigating)",
        "Incident: Site down (investigating)",
    ]
    html = entries[-1][1]
    assert "<strong>investigating</strong>" in html
    assert "<strong>looking</strong>" in html


async def test_a_component_feed_has_only_its_entries_and_a_hidden_one_has_none(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        api_id, hidden_id = await setup(session)
    async with sessions() as session:
        xml = await feed(session, settings, kind="atom", component_id=api_id)
        root = ElementTree.fromstring(xml)
        assert root.findtext(f"{ATOM}title") == "Test status: API status"
        assert [t for t, _ in atom_entries(xml)] == [
            "Maintenance: Database upgrade (scheduled)",
            "Incident: Slow API (investigating)",
        ]
        for missing in (hidden_id, "nope"):
            with pytest.raises(NotFound):
                await feed(session, settings, kind="rss", component_id=missing)


async def test_the_rss_feed_has_the_same_items_with_permalinks(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        await setup(session)
    async with sessions() as session:
        channel = ElementTree.fromstring(await feed(session, settings, kind="rss")).find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Test status status"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == [
        "Maintenance: Database upgrade (scheduled)",
        "Incident: Slow API (investigating)",
        "Incident: Site down (investigating)",
    ]
    for item in items:
        guid = item.find("guid")
        assert guid is not None
        assert guid.get("isPermaLink") == "true"
        assert guid.text == item.findtext("link")
        assert (guid.text or "").startswith("http://status.test/incidents/")
        assert "<strong>" in (item.findtext("description") or "")


async def test_a_control_character_in_a_title_cannot_break_the_feed(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        incident = await incidents.create_incident(
            session, IncidentCreate(title="Outage", body="Down."), posted_by="ops", now=utcnow()
        )
        # Stored before the field rules refused it: the feed must still parse.
        incident.title = "Out\x01age"
    async with sessions() as session:
        entries = atom_entries(await feed(session, settings, kind="atom"))
    assert [t for t, _ in entries] == ["Incident: Outage (investigating)"]
