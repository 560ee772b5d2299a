"""What the public page shows: Statuspage's indicator from the worst visible component,
components by group, open public incidents newest first, maintenance soonest first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import utcnow
from notifier.page.overview import indicator, overview
from notifier.statuses import ComponentStatus
from notifier.tables import Component, ComponentGroup, Incident

Sessions = async_sessionmaker[AsyncSession]


def test_the_indicator_follows_the_worst_status() -> None:
    assert indicator([]) == ("none", "All Systems Operational")
    assert indicator([ComponentStatus.operational, ComponentStatus.partial_outage]) == (
        "major",
        "Partial System Outage",
    )
    assert indicator([ComponentStatus.degraded_performance]) == ("minor", "Minor Service Outage")
    assert indicator([ComponentStatus.major_outage, ComponentStatus.under_maintenance]) == (
        "critical",
        "Major Service Outage",
    )
    assert indicator([ComponentStatus.under_maintenance]) == (
        "maintenance",
        "Service Under Maintenance",
    )


async def test_it_shows_visible_components_by_group_and_ignores_the_hidden(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        group = ComponentGroup(name="Payments", position=1)
        session.add(group)
        await session.flush()
        session.add_all(
            [
                Component(name="API", position=0),
                Component(name="Checkout", group_id=group.id, status="degraded_performance"),
                Component(name="Internal", visible=False, status="major_outage"),
                Component(name="Webhooks", only_show_if_degraded=True),
                Component(name="Exports", only_show_if_degraded=True, status="partial_outage"),
            ]
        )
    async with sessions() as session:
        page = await overview(session)
    shown = [(g.name if g else None, [c.name for c in members]) for g, members in page.groups]
    assert shown == [(None, ["API", "Exports"]), ("Payments", ["Checkout"])]
    # The hidden component's major outage is not the page's state.
    assert (page.indicator, page.description, page.worst) == (
        "major",
        "Partial System Outage",
        "partial_outage",
    )


async def test_it_shows_open_public_incidents_and_coming_maintenance(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        session.add_all(
            [
                Incident(title="older", status="identified", started_at=now - timedelta(hours=2)),
                Incident(title="newer", status="investigating", started_at=now),
                Incident(title="over", status="resolved"),
                Incident(title="private", status="investigating", public=False),
                *(
                    Incident(
                        kind="maintenance",
                        title=title,
                        status=status,
                        scheduled_for=now + timedelta(days=days),
                        scheduled_until=now + timedelta(days=days, hours=1),
                    )
                    for title, status, days in (
                        ("later", "scheduled", 2),
                        ("soon", "scheduled", 1),
                        ("now", "in_progress", 0),
                        ("done", "completed", -1),
                        ("called off", "cancelled", 3),
                    )
                ),
            ]
        )
    async with sessions() as session:
        page = await overview(session)
    assert [i.title for i in page.incidents] == ["newer", "older"]
    assert [m.title for m in page.maintenance] == ["now", "soon", "later"]
    assert (page.indicator, page.groups) == ("none", [])
