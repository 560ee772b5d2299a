"""Demo data for ``forewarn run --demo``: a page with some life in it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import components, customers, incidents, maintenance, problems
from notifier.schemas.components import ComponentCreate, GroupCreate
from notifier.schemas.customers import ConsentIn, CustomerPut, FollowsIn
from notifier.schemas.incidents import AffectedComponent, IncidentCreate, IncidentResolve
from notifier.schemas.maintenance import MaintenanceCreate
from notifier.schemas.problems import ProblemCreate
from notifier.statuses import ComponentStatus, Impact, IncidentStatus, Locale, ProblemKind
from notifier.tables import Component

_LAYOUT = {
    "Website": ["Storefront", "Account & sign-in"],
    "API": ["Orders API", "Checkout API", "Webhooks"],
    "Delivery": ["Shipment tracking", "SMS notifications"],
}


async def seed(session: AsyncSession, *, now: datetime) -> bool:
    """Fill an empty database; returns False (and changes nothing) if it has components."""
    if await session.scalar(select(func.count()).select_from(Component)):
        return False
    past = now - timedelta(days=90)
    ids: dict[str, str] = {}
    for position, (group_name, names) in enumerate(_LAYOUT.items()):
        created = []
        for index, name in enumerate(names):
            body = ComponentCreate(name=name, position=position * 10 + index)
            component = await components.create_component(session, body, now=past)
            ids[name] = component.id
            created.append(component.id)
        await components.create_group(
            session, GroupCreate(name=group_name, position=position, components=created), now=past
        )

    await _customers(session, ids, now=now)

    # A resolved incident three weeks ago, so history and uptime are not empty
    # (told to nobody now: it is history).
    old = await incidents.create_incident(
        session,
        IncidentCreate(
            title="Slow order confirmations",
            body="Order confirmations are taking up to 10 minutes. We are looking into it.",
            impact=Impact.minor,
            notify=False,
            components=[
                AffectedComponent(
                    component_id=ids["Orders API"], status=ComponentStatus.degraded_performance
                )
            ],
        ),
        posted_by="demo",
        now=now - timedelta(days=21),
    )
    await incidents.resolve(
        session,
        old.id,
        IncidentResolve(
            body="Confirmations are back to normal. Thank you for your patience.", notify=False
        ),
        posted_by="demo",
        now=now - timedelta(days=21, hours=-2),
    )

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


async def _customers(session: AsyncSession, ids: dict[str, str], *, now: datetime) -> None:
    """Two customers who will see the demo's messages in the dev outbox."""
    consent = ConsentIn(channels=["email", "sms"], legal_basis="demo data")
    people = [
        CustomerPut(
            name="田中愛子",
            email="aiko@example.com",
            phone="+81 90 1234 5678",
            inapp_user_id="demo-user-1",
            locale=Locale.ja,
            time_zone="Asia/Tokyo",
            consent=consent,
            follows=FollowsIn(page=True),
        ),
        CustomerPut(
            name="Sam Lee",
            email="sam@example.com",
            phone="+44 7911 123456",
            locale=Locale.en,
            time_zone="Europe/London",
            consent=consent,
            follows=FollowsIn(components=[ids["Checkout API"]]),
        ),
    ]
    for external_id, body in zip(("cust-1001", "cust-1002"), people, strict=True):
        await customers.upsert_customer(session, external_id, body, now=now)
