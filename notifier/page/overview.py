"""What the public page shows: the overall state and the open incidents and maintenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.statuses import ComponentStatus, IncidentKind, MaintenanceStatus, worst
from notifier.tables import Component, ComponentGroup, Incident

# Statuspage's indicator and wording, worked out from component states. The v2 JSON
# keeps these English words; the page says them in the visitor's language
# (status_page/templates/_macros.html, checked against these by the page tests).
_INDICATOR = {
    ComponentStatus.operational: ("none", "All Systems Operational"),
    ComponentStatus.under_maintenance: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.degraded_performance: ("minor", "Minor Service Outage"),
    ComponentStatus.partial_outage: ("major", "Partial System Outage"),
    ComponentStatus.major_outage: ("critical", "Major Service Outage"),
}


@dataclass(frozen=True)
class Overview:
    """The page's state: Statuspage indicator and wording, components by group, what is open.

    ``groups`` is [(group or None for ungrouped, its shown components)], empty groups
    left out; ``incidents`` are open public incidents, newest first; ``maintenance``
    is public maintenance scheduled, in progress or verifying, soonest first.
    """

    indicator: str
    description: str
    worst: ComponentStatus
    groups: list[tuple[ComponentGroup | None, list[Component]]]
    incidents: Sequence[Incident]
    maintenance: Sequence[Incident]


def indicator(statuses: list[ComponentStatus]) -> tuple[str, str]:
    """The page indicator and its English wording for these component statuses.

    -> e.g. ``("major", "Partial System Outage")``: Statuspage's ``none | minor | major
    | critical`` or ``maintenance``, from the worst status (``operational`` when empty).
    """
    return _INDICATOR[worst(statuses)]


async def overview(session: AsyncSession) -> Overview:
    """What the public page shows now: visible components (one that is shown only when
    degraded, while operational, is not), open public incidents and maintenance.
    """
    all_components = (
        await session.scalars(select(Component).order_by(Component.position, Component.name))
    ).all()
    visible = [
        c
        for c in all_components
        if c.visible and not (c.only_show_if_degraded and c.status == ComponentStatus.operational)
    ]
    groups = (await session.scalars(select(ComponentGroup).order_by(ComponentGroup.position))).all()
    grouped: list[tuple[ComponentGroup | None, list[Component]]] = [
        (None, [c for c in visible if c.group_id is None])
    ]
    grouped += [(g, [c for c in visible if c.group_id == g.id]) for g in groups]
    grouped = [(g, members) for g, members in grouped if members]
    open_incidents = await session.scalars(
        select(Incident)
        .where(
            Incident.kind == IncidentKind.incident,
            Incident.public.is_(True),
            Incident.status.not_in(["resolved", "postmortem"]),
        )
        .order_by(Incident.started_at.desc())
    )
    maintenance = await session.scalars(
        select(Incident)
        .where(
            Incident.kind == IncidentKind.maintenance,
            Incident.public.is_(True),
            Incident.status.in_(
                [MaintenanceStatus.scheduled, MaintenanceStatus.in_progress, "verifying"]
            ),
        )
        .order_by(Incident.scheduled_for)
    )
    statuses = [ComponentStatus(c.status) for c in visible]
    level, text = indicator(statuses)
    return Overview(
        indicator=level,
        description=text,
        worst=worst(statuses),
        groups=grouped,
        incidents=open_incidents.all(),
        maintenance=maintenance.all(),
    )
