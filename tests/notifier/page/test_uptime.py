from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components, incidents, maintenance
from notifier.page import uptime
from notifier.page.uptime import Change, Window, daily
from notifier.schemas.components import ComponentCreate, ComponentPatch
from notifier.schemas.incidents import AffectedComponent, IncidentCreate, IncidentResolve
from notifier.schemas.maintenance import MaintenanceCancel, MaintenanceCreate
from notifier.statuses import ComponentStatus, IncidentKind
from notifier.tables import Component

UTC_ZONE = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
OK = ComponentStatus.operational
MAJOR = ComponentStatus.major_outage
PARTIAL = ComponentStatus.partial_outage
DEGRADED = ComponentStatus.degraded_performance
MAINTENANCE = ComponentStatus.under_maintenance
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def by_date(changes: list[Change], zone: ZoneInfo = UTC_ZONE) -> dict[date, uptime.Day]:
    return {d.date: d for d in daily(changes, Window.ending(NOW, zone))}


def test_the_window_is_ninety_days_ending_today_in_the_pages_zone() -> None:
    window = Window.ending(datetime(2026, 11, 20, 16, 0, tzinfo=UTC), TOKYO)

    assert len(window.dates) == 90
    assert window.dates[-1] == date(2026, 11, 21)  # already the 21st in Tokyo
    assert window.bounds[-1] == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


def test_a_day_with_a_two_hour_major_outage_is_91_67_percent_up() -> None:
    days = by_date([Change(at(1), OK), Change(at(10, 9), MAJOR), Change(at(10, 11), OK)])

    day = days[date(2026, 11, 10)]
    assert day.worst is MAJOR
    assert day.percent == "91.67"
    assert days[date(2026, 11, 9)].percent == "100"
    assert days[date(2026, 11, 9)].worst is OK


def test_a_partial_outage_counts_as_30_percent_down() -> None:
    days = by_date([Change(at(1), OK), Change(at(10, 0), PARTIAL), Change(at(10, 10), OK)])

    day = days[date(2026, 11, 10)]
    assert day.worst is PARTIAL
    assert day.down == pytest.approx(0.3 * 10 * 3600)
    assert day.percent == "87.50"  # 1 - 0.3 * 10/24


def test_degraded_performance_and_maintenance_are_not_down_but_colour_the_day() -> None:
    days = by_date(
        [
            Change(at(1), OK),
            Change(at(10, 1), DEGRADED),
            Change(at(10, 2), OK),
            Change(at(11, 1), MAINTENANCE),
            Change(at(11, 5), OK),
        ]
    )

    assert (days[date(2026, 11, 10)].worst, days[date(2026, 11, 10)].percent) == (DEGRADED, "100")
    assert (days[date(2026, 11, 11)].worst, days[date(2026, 11, 11)].percent) == (
        MAINTENANCE,
        "100",
    )


def test_days_before_the_component_existed_have_no_data() -> None:
    days = by_date([Change(at(10, 18), OK)])

    assert days[date(2026, 11, 9)].worst is None
    assert days[date(2026, 11, 9)].percent is None
    assert days[date(2026, 8, 23)].percent is None
    # The day it was created counts from its creation only.
    assert days[date(2026, 11, 10)].covered == 6 * 3600
    assert days[date(2026, 11, 10)].percent == "100"


def test_today_counts_up_to_now() -> None:
    days = by_date([Change(at(1), OK), Change(at(20, 9), MAJOR)])

    today = days[date(2026, 11, 20)]
    assert today.covered == 12 * 3600
    assert today.percent == "75.00"  # 3 of 12 hours down


def test_an_outage_over_midnight_counts_on_both_days() -> None:
    days = by_date([Change(at(1), OK), Change(at(10, 23), MAJOR), Change(at(11, 1), OK)])

    for day in (date(2026, 11, 10), date(2026, 11, 11)):
        assert days[day].worst is MAJOR
        assert days[day].percent == "95.83"
    assert days[date(2026, 11, 12)].worst is OK


def test_an_outage_ending_exactly_at_midnight_leaves_the_next_day_clean() -> None:
    days = by_date([Change(at(1), OK), Change(at(10, 22), MAJOR), Change(at(11, 0), OK)])

    assert days[date(2026, 11, 10)].worst is MAJOR
    assert days[date(2026, 11, 11)].worst is OK


def test_days_follow_the_pages_time_zone() -> None:
    # 16:00-17:00 UTC on the 10th is 01:00-02:00 on the 11th in Tokyo.
    changes = [Change(at(1), OK), Change(at(10, 16), MAJOR), Change(at(10, 17), OK)]

    in_utc = by_date(changes)
    in_tokyo = by_date(changes, TOKYO)

    assert in_utc[date(2026, 11, 10)].worst is MAJOR
    assert in_utc[date(2026, 11, 11)].worst is OK
    assert in_tokyo[date(2026, 11, 10)].worst is OK
    assert in_tokyo[date(2026, 11, 11)].worst is MAJOR
    assert in_tokyo[date(2026, 11, 11)].percent == "95.83"


def test_a_day_with_a_daylight_saving_change_has_its_true_length() -> None:
    # Europe/London falls back on 25 October 2026: that day has 25 hours.
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # midnight in London (BST)
    changes = [
        Change(at(1, month=10), OK),
        Change(start, MAJOR),
        Change(start + timedelta(hours=5), OK),
    ]

    day = by_date(changes, london)[date(2026, 10, 25)]

    assert day.covered == 25 * 3600
    assert day.percent == "80.00"


def test_a_status_replaced_at_the_same_instant_never_colours_a_day() -> None:
    days = by_date([Change(at(10, 9), MAJOR), Change(at(10, 9), OK)])

    assert days[date(2026, 11, 10)].worst is OK


def test_the_window_uptime_is_weighted_by_time() -> None:
    history = uptime.History(
        daily(
            [Change(at(1, month=8), OK), Change(at(10), MAJOR), Change(at(11), OK)],
            Window.ending(NOW, UTC_ZONE),
        )
    )

    # One day down in 89.5 days with data (today is half over).
    assert history.percent == f"{100 * (1 - 1 / 89.5):.2f}"


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(1.0, "100"), (0.99999, "99.99"), (0.0, "0.00"), (0.000001, "0.01"), (0.5, "50.00")],
)
def test_percentages_never_round_to_a_clean_100_or_0(fraction: float, text: str) -> None:
    assert uptime.percent(fraction) == text


async def _component(session: AsyncSession, name: str, now: datetime) -> Component:
    return await components.create_component(session, ComponentCreate(name=name), now=now)


async def test_load_reads_the_history_of_every_component_with_its_incidents(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        old = await _component(session, "Old", now - timedelta(days=200))
        new = await _component(session, "New", now - timedelta(days=3))
        # Before the window: decides the status the window starts in.
        await components.patch_component(
            session, old.id, ComponentPatch(status=DEGRADED), now=now - timedelta(days=150)
        )
        incident = await incidents.create_incident(
            session,
            IncidentCreate(
                title="API down",
                body="Down.",
                notify=False,
                components=[
                    AffectedComponent(component_id=old.id, status=MAJOR),
                    AffectedComponent(component_id=new.id, status=PARTIAL),
                ],
            ),
            posted_by="test",
            now=now - timedelta(days=2, hours=3),
        )
        await incidents.resolve(
            session,
            incident.id,
            IncidentResolve(notify=False),
            posted_by="test",
            now=now - timedelta(days=2, hours=1),
        )
        await incidents.create_incident(
            session,
            IncidentCreate(
                title="Private",
                body="Hush.",
                public=False,
                notify=False,
                components=[AffectedComponent(component_id=new.id, status=MAJOR)],
            ),
            posted_by="test",
            now=now - timedelta(days=1),
        )
        cancelled = await maintenance.create_maintenance(
            session,
            MaintenanceCreate(
                title="Never ran",
                body="Planned.",
                notify=False,
                scheduled_for=now + timedelta(days=1),
                scheduled_until=now + timedelta(days=1, hours=1),
                components=[old.id],
            ),
            posted_by="test",
            now=now - timedelta(days=2),
        )
        await maintenance.cancel_maintenance(
            session,
            cancelled.id,
            MaintenanceCancel(body="Off.", notify=False),
            posted_by="test",
            now=now - timedelta(days=1),
        )

    async with sessions() as session:
        histories = await uptime.load(session, [old, new], Window.ending(now, UTC_ZONE))

    old_days, new_days = histories[old.id].days, histories[new.id].days
    assert len(old_days) == len(new_days) == 90
    assert old_days[0].worst is DEGRADED  # the status it had entered before the window
    assert new_days[-5].worst is None
    assert new_days[-4].worst is not None
    outage_day = (now - timedelta(days=2, hours=2)).date()
    [old_outage] = [d for d in old_days if d.date == outage_day]
    [new_outage] = [d for d in new_days if d.date == outage_day]
    assert old_outage.worst is MAJOR
    assert new_outage.worst is PARTIAL
    # A private incident's outage is still the component's history; its title is not shown.
    assert new_days[-2].worst is MAJOR
    assert new_days[-1].worst is MAJOR  # still open
    assert [(i.title, i.kind) for i in old_outage.incidents] == [
        ("API down", IncidentKind.incident)
    ]
    titles = {i.title for d in new_days for i in d.incidents}
    assert titles == {"API down"}  # neither the private incident nor the cancelled maintenance
    assert histories[new.id].uptime is not None
    assert histories[new.id].uptime < 1  # type: ignore[operator]


async def test_load_without_components_reads_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        assert await uptime.load(session, [], Window.ending(NOW, UTC_ZONE)) == {}


async def test_an_incident_posted_late_leaves_later_recorded_changes_as_they_were(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        quiet = await _component(session, "Quiet", now - timedelta(days=10))
        changed = await _component(session, "Changed", now - timedelta(days=10))
        # Said on the page a day ago, after the late incident's start: it stands.
        await components.patch_component(
            session, changed.id, ComponentPatch(status=DEGRADED), now=now - timedelta(days=1)
        )
        await incidents.create_incident(
            session,
            IncidentCreate(
                title="Posted late",
                body="It began three days ago.",
                notify=False,
                started_at=now - timedelta(days=3),
                components=[
                    AffectedComponent(component_id=quiet.id, status=MAJOR),
                    AffectedComponent(component_id=changed.id, status=MAJOR),
                ],
            ),
            posted_by="test",
            now=now,
        )

    async with sessions() as session:
        histories = await uptime.load(session, [quiet, changed], Window.ending(now, UTC_ZONE))
        statuses = {c.id: c.status for c in await components.list_components(session)}

    quiet_days, changed_days = histories[quiet.id].days, histories[changed.id].days
    assert [d.worst for d in quiet_days[-5:]] == [OK, MAJOR, MAJOR, MAJOR, MAJOR]
    assert [d.worst for d in changed_days[-5:]] == [OK, OK, OK, DEGRADED, MAJOR]
    # The incident is listed on the days it ran either way.
    assert [bool(d.incidents) for d in changed_days[-5:]] == [False, True, True, True, True]
    assert statuses == {quiet.id: MAJOR, changed.id: MAJOR}
