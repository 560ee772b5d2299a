"""Components, their groups, and the history of their statuses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import translations
from notifier.errors import NotFound, UnknownReference
from notifier.schemas.components import (
    ComponentCreate,
    ComponentPatch,
    GroupCreate,
    GroupPatch,
)
from notifier.statuses import ComponentStatus, IncidentKind, IncidentStatus, worst
from notifier.tables import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    IncidentComponent,
)

# The fields of a component or group that have translations.
_TEXTS = ("name", "description")


def _merge(record: Component | ComponentGroup, body: ComponentPatch | GroupPatch) -> None:
    if "translations" in body.model_fields_set:
        patch = translations.sent(body.translations)
        record.translations = translations.merged(record.translations, patch, _TEXTS)


async def list_components(session: AsyncSession) -> Sequence[Component]:
    """Every component, in page order (position, then name)."""
    return (
        await session.scalars(select(Component).order_by(Component.position, Component.name))
    ).all()


async def get_component(session: AsyncSession, component_id: str) -> Component:
    """The component with this id; ``NotFound`` when there is none."""
    component = await session.get(Component, component_id)
    if component is None:
        raise NotFound("component", component_id)
    return component


async def create_component(
    session: AsyncSession, body: ComponentCreate, *, now: datetime
) -> Component:
    """Add a component and the first entry of its status history (at ``now``).

    ``UnknownReference`` (naming ``group_id``) for a group that does not exist.
    """
    if body.group_id is not None:
        await _group_for_field(session, body.group_id, "group_id")
    component = Component(
        **body.model_dump(exclude={"status", "translations"}),
        status=body.status,
        translations=translations.pick(translations.sent(body.translations), _TEXTS),
        created_at=now,
        updated_at=now,
    )
    session.add(component)
    await session.flush()
    session.add(ComponentStatusChange(component_id=component.id, status=body.status, at=now))
    await session.flush()
    return component


async def patch_component(
    session: AsyncSession, component_id: str, body: ComponentPatch, *, now: datetime
) -> Component:
    """Change the fields ``body`` sets; a new status is recorded in the history, the
    translations are merged (``notifier.translations.merged``).

    ``NotFound`` for an unknown id; ``UnknownReference`` (``group_id``) for an unknown group.
    """
    component = await get_component(session, component_id)
    changes = body.model_dump(exclude_unset=True, exclude={"translations"})
    _merge(component, body)
    if changes.get("group_id") is not None:
        await _group_for_field(session, changes["group_id"], "group_id")
    status = changes.pop("status", None)
    for field, value in changes.items():
        setattr(component, field, value)
    if status is not None:
        set_status(session, component, status, now=now)
    component.updated_at = now
    await session.flush()
    return component


async def delete_component(session: AsyncSession, component_id: str) -> None:
    """Delete a component; ``NotFound`` when there is none."""
    await session.delete(await get_component(session, component_id))
    await session.flush()


def set_status(
    session: AsyncSession,
    component: Component,
    status: ComponentStatus,
    *,
    now: datetime,
    incident_id: str | None = None,
    began: datetime | None = None,
) -> None:
    """Change a component's status and record the change (nothing when unchanged).

    ``began``: when the change took effect, if before ``now`` (the history records it
    then; the component's ``updated_at`` is still ``now``).
    """
    if component.status == status:
        return
    component.status = status
    component.updated_at = now
    session.add(
        ComponentStatusChange(
            component_id=component.id, status=status, at=began or now, incident_id=incident_id
        )
    )


async def refresh_statuses(
    session: AsyncSession,
    component_ids: Iterable[str],
    *,
    now: datetime,
    incident_id: str,
    since: datetime | None = None,
) -> None:
    """Set each component to the worst status any open incident or maintenance gives it.

    With none open the component is operational again: resolving an incident
    restores its components unless another open incident still affects them.

    ``since``: when the incident began, if before ``now`` (one posted late, with a
    past ``started_at``). A component's change is then recorded at ``since``, so the
    uptime bars show the days it was down, unless its history already has a change
    after ``since``: what the page said then stands, and the change is recorded
    at ``now`` as for any other update (the history is never rewritten).
    """
    ids = sorted(set(component_ids))
    if not ids:
        return
    await session.flush()
    open_work = (
        (Incident.kind == IncidentKind.incident)
        & Incident.status.not_in([IncidentStatus.resolved, IncidentStatus.postmortem])
    ) | (
        (Incident.kind == IncidentKind.maintenance)
        & Incident.status.in_(["in_progress", "verifying"])
    )
    rows = await session.execute(
        select(IncidentComponent.component_id, IncidentComponent.status)
        .join(Incident, Incident.id == IncidentComponent.incident_id)
        .where(IncidentComponent.component_id.in_(ids), open_work)
    )
    given: dict[str, list[ComponentStatus]] = {cid: [] for cid in ids}
    for component_id, status in rows:
        given[component_id].append(ComponentStatus(status))
    settled = await _changed_after(session, ids, since) if since is not None else set()
    for component in await session.scalars(select(Component).where(Component.id.in_(ids))):
        began = since if component.id not in settled else None
        set_status(
            session,
            component,
            worst(given[component.id]),
            now=now,
            incident_id=incident_id,
            began=began,
        )


async def _changed_after(session: AsyncSession, ids: list[str], moment: datetime) -> set[str]:
    """The components among ``ids`` whose history has a change after ``moment``."""
    rows = await session.scalars(
        select(ComponentStatusChange.component_id)
        .where(ComponentStatusChange.component_id.in_(ids), ComponentStatusChange.at > moment)
        .distinct()
    )
    return set(rows)


async def components_for_field(
    session: AsyncSession, ids: Sequence[str], field: str, key: str = ""
) -> dict[str, Component]:
    """Load components by id; an unknown id is ``UnknownReference`` naming its place.

    ``key`` names the id inside each item when the body lists objects, not ids.
    """
    found = {c.id: c for c in await session.scalars(select(Component).where(Component.id.in_(ids)))}
    for index, component_id in enumerate(ids):
        if component_id not in found:
            place = f"{field}[{index}]" + (f".{key}" if key else "")
            raise UnknownReference(place, f"no component with id {component_id!r}")
    return found


# Groups


async def list_groups(session: AsyncSession) -> Sequence[ComponentGroup]:
    """Every component group, in page order (position, then name), components loaded."""
    stmt = select(ComponentGroup).order_by(ComponentGroup.position, ComponentGroup.name)
    return (await session.scalars(stmt)).all()


async def get_group(session: AsyncSession, group_id: str) -> ComponentGroup:
    """The component group with this id; ``NotFound`` when there is none."""
    group = await session.get(ComponentGroup, group_id)
    if group is None:
        raise NotFound("component group", group_id)
    return group


async def create_group(
    session: AsyncSession, body: GroupCreate, *, now: datetime
) -> ComponentGroup:
    """Add a group and move the components ``body`` names into it.

    ``UnknownReference`` (naming ``components[i]``) for a component that does not exist.
    """
    group = ComponentGroup(
        name=body.name,
        description=body.description,
        translations=translations.pick(translations.sent(body.translations), _TEXTS),
        position=body.position,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    await session.flush()
    await _set_members(session, group, body.components, now=now)
    return group


async def patch_group(
    session: AsyncSession, group_id: str, body: GroupPatch, *, now: datetime
) -> ComponentGroup:
    """Change the fields ``body`` sets; ``components`` replaces the members.

    ``NotFound`` for an unknown id; ``UnknownReference`` (``components[i]``) as ``create_group``.
    """
    group = await get_group(session, group_id)
    changes = body.model_dump(exclude_unset=True, exclude={"translations"})
    _merge(group, body)
    members = changes.pop("components", None)
    for field, value in changes.items():
        setattr(group, field, value)
    group.updated_at = now
    if members is not None:
        await _set_members(session, group, members, now=now)
    await session.flush()
    return group


async def delete_group(session: AsyncSession, group_id: str) -> None:
    """Delete a group; its components stay, ungrouped."""
    group = await get_group(session, group_id)
    await session.execute(
        update(Component).where(Component.group_id == group.id).values(group_id=None)
    )
    await session.delete(group)
    await session.flush()


async def _set_members(
    session: AsyncSession, group: ComponentGroup, ids: list[str], *, now: datetime
) -> None:
    found = await components_for_field(session, ids, "components")
    await session.execute(
        update(Component)
        .where(Component.group_id == group.id, Component.id.not_in(ids))
        .values(group_id=None, updated_at=now)
    )
    for component in found.values():
        component.group_id = group.id
        component.updated_at = now
    await session.flush()
    await session.refresh(group, ["components"])


async def _group_for_field(session: AsyncSession, group_id: str, field: str) -> ComponentGroup:
    group = await session.get(ComponentGroup, group_id)
    if group is None:
        raise UnknownReference(field, f"no component group with id {group_id!r}")
    return group
