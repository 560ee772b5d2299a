"""Demo data for ``forewarn run --demo``: a page with some life in it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import components, customers, incidents, maintenance, problems
from notifier.schemas.components import ComponentCreate, GroupCreate
from notifier.schemas.customers import ConsentIn, CustomerPut, FollowsIn
from notifier.schemas.incidents import AffectedComponent, IncidentCreate, IncidentUpdateCreate
from notifier.schemas.maintenance import MaintenanceCreate, MaintenancePatch
from notifier.schemas.problems import ProblemCreate
from notifier.schemas.translations import (
    NameText,
    NameTranslations,
    TitleBodyText,
    TitleBodyTranslations,
)
from notifier.statuses import (
    ComponentStatus,
    Impact,
    IncidentStatus,
    Locale,
    MaintenanceStatus,
    ProblemKind,
)
from notifier.tables import Component

_LAYOUT = {
    "Website": ["Storefront", "Account & sign-in"],
    "API": ["Orders API", "Checkout API", "Webhooks"],
    "Delivery": ["Shipment tracking", "SMS notifications"],
}
# Their names on the Japanese page and in messages to Japanese customers.
_JA = {
    "Website": "ウェブサイト",
    "Storefront": "ストア",
    "Account & sign-in": "アカウントとログイン",
    "API": "API",
    "Orders API": "注文API",
    "Checkout API": "決済API",
    "Webhooks": "Webhook",
    "Delivery": "配送",
    "Shipment tracking": "配送状況の確認",
    "SMS notifications": "SMS通知",
}


def _ja_name(name: str) -> NameTranslations:
    return NameTranslations(ja=NameText(name=_JA[name]))


async def seed(session: AsyncSession, *, now: datetime) -> bool:
    """Fill an empty database; returns False (and changes nothing) if it has components."""
    if await session.scalar(select(func.count()).select_from(Component)):
        return False
    past = now - timedelta(days=120)
    ids: dict[str, str] = {}
    for position, (group_name, names) in enumerate(_LAYOUT.items()):
        created = []
        for index, name in enumerate(names):
            body = ComponentCreate(
                name=name, position=position * 10 + index, translations=_ja_name(name)
            )
            # Webhooks is newer than the uptime window: its first days show "no data".
            since = now - timedelta(days=34) if name == "Webhooks" else past
            component = await components.create_component(session, body, now=since)
            ids[name] = component.id
            created.append(component.id)
        await components.create_group(
            session,
            GroupCreate(
                name=group_name,
                position=position,
                components=created,
                translations=_ja_name(group_name),
            ),
            now=past,
        )

    await _customers(session, ids, now=now)
    await _past(session, ids, now=now)

    # An incident happening now, with a promised next update.
    await incidents.create_incident(
        session,
        IncidentCreate(
            title="Payments failing for some card types",
            status=IncidentStatus.identified,
            body=(
                "Some card payments are being declined at checkout. We have found the cause "
                "with our payment provider and are working on a fix."
            ),
            impact=Impact.major,
            components=[
                AffectedComponent(
                    component_id=ids["Checkout API"], status=ComponentStatus.partial_outage
                )
            ],
            next_update_by=now + timedelta(minutes=30),
            translations=TitleBodyTranslations(
                ja=TitleBodyText(
                    title="一部のカードでお支払いができない状態",
                    body=(
                        "一部のカードでのお支払いがご利用いただけない状態です。決済代行会社と"
                        "原因を特定し、復旧に向けて対応しております。"
                    ),
                )
            ),
        ),
        posted_by="demo",
        now=now - timedelta(minutes=25),
    )

    start = (now + timedelta(days=2)).replace(hour=1, minute=0, second=0, microsecond=0)
    await maintenance.create_maintenance(
        session,
        MaintenanceCreate(
            title="Database upgrade",
            body="Order history may be read-only for up to 30 minutes.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            components=[ids["Orders API"], ids["Shipment tracking"]],
            translations=TitleBodyTranslations(
                ja=TitleBodyText(
                    title="データベースの更新",
                    body="最大30分間、注文履歴が閲覧のみとなる場合があります。",
                )
            ),
        ),
        posted_by="demo",
        now=now,
    )

    await problems.create_problem(
        session,
        ProblemCreate(
            reference="ORD-48213",
            kind=ProblemKind.delayed,
            title="Parcel delayed at the depot",
            body="Your parcel is delayed by one day; it will arrive tomorrow.",
            eta=now + timedelta(days=1),
            customers=["cust-1001"],
        ),
        posted_by="demo",
        now=now,
    )
    return True


async def _past(session: AsyncSession, ids: dict[str, str], *, now: datetime) -> None:
    """Three months of history, so the uptime bars and the history pages have something
    to show. Told to nobody now (``notify`` off): it is history."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)

    async def incident(
        title: str,
        impact: Impact,
        start: datetime,
        steps: list[tuple[timedelta, IncidentStatus, str, dict[str, ComponentStatus]]],
    ) -> None:
        """``steps``: (after start, status, body, component statuses); resolved by the last."""
        first_after, first_status, first_body, first_affected = steps[0]
        created = await incidents.create_incident(
            session,
            IncidentCreate(
                title=title,
                status=first_status,
                body=first_body,
                impact=impact,
                notify=False,
                components=_affected(ids, first_affected),
            ),
            posted_by="demo",
            now=start + first_after,
        )
        for after, status, body, affected in steps[1:]:
            await incidents.post_update(
                session,
                created.id,
                IncidentUpdateCreate(
                    status=status,
                    body=body,
                    notify=False,
                    components=_affected(ids, affected) or None,
                ),
                posted_by="demo",
                now=start + after,
            )

    down, slow = ComponentStatus.major_outage, ComponentStatus.degraded_performance
    await incident(
        "Checkout errors after a deployment",
        Impact.critical,
        day - timedelta(days=67) + timedelta(hours=14, minutes=12),
        [
            (
                _T0,
                IncidentStatus.investigating,
                "Checkout is failing for all customers. We are investigating.",
                {"Checkout API": down, "Storefront": ComponentStatus.partial_outage},
            ),
            (
                timedelta(minutes=18),
                IncidentStatus.identified,
                "A deployment at 14:05 caused the errors. We are rolling it back.",
                {},
            ),
            (
                timedelta(minutes=41),
                IncidentStatus.monitoring,
                "The rollback is complete and checkout works again. We are watching closely.",
                {"Checkout API": slow, "Storefront": _OK},
            ),
            (
                timedelta(minutes=95),
                IncidentStatus.resolved,
                "Checkout has been working normally for an hour. "
                "We are sorry for the trouble this caused.",
                {"Checkout API": _OK},
            ),
        ],
    )
    await incident(
        "Tracking pages slow to load",
        Impact.minor,
        day - timedelta(days=49) + timedelta(hours=9),
        [
            (
                _T0,
                IncidentStatus.investigating,
                "Shipment tracking pages are loading slowly.",
                {"Shipment tracking": slow},
            ),
            (
                timedelta(hours=3),
                IncidentStatus.resolved,
                "A carrier's API was slow to answer; it is back to normal.",
                {"Shipment tracking": _OK},
            ),
        ],
    )
    # A text message outage that ran past midnight (UTC): it colours two days.
    await incident(
        "Text messages delayed",
        Impact.major,
        day - timedelta(days=12) + timedelta(hours=22, minutes=30),
        [
            (
                _T0,
                IncidentStatus.investigating,
                "Text messages are arriving late or not at all. Email is not affected.",
                {"SMS notifications": ComponentStatus.partial_outage},
            ),
            (
                timedelta(minutes=50),
                IncidentStatus.identified,
                "Our SMS provider has an outage in one region; we are moving traffic to "
                "another route.",
                {},
            ),
            (
                timedelta(hours=2, minutes=40),
                IncidentStatus.resolved,
                "Text messages are being delivered again, including the delayed ones.",
                {"SMS notifications": _OK},
            ),
        ],
    )
    await incident(
        "Slow order confirmations",
        Impact.minor,
        day - timedelta(days=21) + timedelta(hours=10),
        [
            (
                _T0,
                IncidentStatus.investigating,
                "Order confirmations are taking up to 10 minutes. We are looking into it.",
                {"Orders API": slow},
            ),
            (
                timedelta(hours=2),
                IncidentStatus.resolved,
                "Confirmations are back to normal. Thank you for your patience.",
                {"Orders API": _OK},
            ),
        ],
    )

    # Maintenance that ran a month ago.
    start = day - timedelta(days=31) + timedelta(hours=2)
    done = await maintenance.create_maintenance(
        session,
        MaintenanceCreate(
            title="Network upgrade",
            body="We are upgrading the network of our main data centre. The storefront and "
            "sign-in may be briefly unavailable.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            components=[ids["Storefront"], ids["Account & sign-in"]],
            notify=False,
        ),
        posted_by="demo",
        now=start - timedelta(days=7),
    )
    for status, at in (
        (MaintenanceStatus.in_progress, start),
        (MaintenanceStatus.completed, start + timedelta(minutes=48)),
    ):
        await maintenance.patch_maintenance(
            session,
            done.id,
            MaintenancePatch(status=status, notify=False),
            posted_by="demo",
            now=at,
        )


_T0 = timedelta(0)
_OK = ComponentStatus.operational


def _affected(ids: dict[str, str], statuses: dict[str, ComponentStatus]) -> list[AffectedComponent]:
    return [AffectedComponent(component_id=ids[name], status=s) for name, s in statuses.items()]


async def _customers(session: AsyncSession, ids: dict[str, str], *, now: datetime) -> None:
    """Two customers who will see the demo's messages in the dev outbox."""
    consent = ConsentIn(channels=["email", "sms"], legal_basis="demo data")
    people = [
        CustomerPut(
            given_name="愛子",
            family_name="田中",
            email="aiko@example.com",
            phone="+81 90 1234 5678",
            inapp_user_id="demo-user-1",
            locale=Locale.ja,
            time_zone="Asia/Tokyo",
            consent=consent,
            follows=FollowsIn(page=True),
        ),
        CustomerPut(
            given_name="Sam",
            family_name="Lee",
            email="sam@example.com",
            phone="+44 7911 123456",
            locale=Locale.en,
            time_zone="Europe/London",
            consent=consent,
            follows=FollowsIn(components=[ids["Checkout API"]]),
        ),
    ]
    for external_id, body in zip(("cust-1001", "cust-1002"), people, strict=True):
        # An empty database: no erased customer's suppression to re-arm, so no key needed.
        await customers.upsert_customer(session, external_id, body, secret="", now=now)
