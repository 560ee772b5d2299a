"""Scheduled maintenance: an incident with a window and its own lifecycle."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import components, events, notifications, translations
from notifier.audience_rule import AudienceRule
from notifier.db import new_id
from notifier.errors import Conflict, NotFound
from notifier.pagination import paginate
from notifier.schemas.maintenance import (
    MaintenanceCancel,
    MaintenanceCreate,
    MaintenancePatch,
    MaintenanceQuery,
)
from notifier.statuses import ComponentStatus, IncidentKind, MaintenanceStatus
from notifier.tables import Incident, IncidentComponent, IncidentUpdate

log = logging.getLogger(__name__)

_ORDER = [
    MaintenanceStatus.scheduled,
    MaintenanceStatus.in_progress,
    MaintenanceStatus.verifying,
    MaintenanceStatus.completed,
]
_ENDED = (MaintenanceStatus.completed, MaintenanceStatus.cancelled)

# What the timeline says when the worker moves a maintenance on by itself.
AUTO_BODY = {
    MaintenanceStatus.in_progress: "Scheduled maintenance is now in progress.",
    MaintenanceStatus.completed: "Scheduled maintenance has been completed.",
}
# The same in Japanese, and the default cancellation (``MaintenanceCancel``'s body).
AUTO_BODY_JA = {
    MaintenanceStatus.in_progress: "計画メンテナンスを開始しました。",
    MaintenanceStatus.completed: "計画メンテナンスが完了しました。",
    MaintenanceStatus.cancelled: "この計画メンテナンスは中止になりました。",
}


def _auto_translations(status: MaintenanceStatus) -> translations.Translations | None:
    said = AUTO_BODY_JA.get(status)
    return {"ja": {"body": said}} if said else None


async def create_maintenance(
    session: AsyncSession, body: MaintenanceCreate, *, posted_by: str, now: datetime
) -> Incident:
    """Schedule a maintenance (an ``Incident`` of kind maintenance) with its first update.

    Its components are ``under_maintenance`` while it is in progress.
    ``UnknownReference`` (``components[i]``) for a component that does not exist.
    """
    found = await components.components_for_field(session, body.components, "components")
    given = translations.sent(body.translations)
    maintenance = Incident(
        kind=IncidentKind.maintenance,
        title=body.title,
        translations=translations.pick(given, ("title",)),
        status=MaintenanceStatus.scheduled,
        impact="maintenance",
        public=body.public,
        started_at=body.scheduled_for,
        scheduled_for=body.scheduled_for,
        scheduled_until=body.scheduled_until,
        auto_transition=body.auto_transition,
        created_at=now,
        updated_at=now,
        updates=[],
        affected=[],
    )
    session.add(maintenance)
    await session.flush()
    for component in found.values():
        link = IncidentComponent(
            incident_id=maintenance.id,
            component_id=component.id,
            status=ComponentStatus.under_maintenance,
        )
        link.component = component
        maintenance.affected.append(link)
    _add_update(
        maintenance,
        body.body,
        notify=body.notify,
        posted_by=posted_by,
        now=now,
        session=session,
        urgent=body.urgent,
        translated=translations.pick(given, ("body",)),
    )
    await session.flush()
    return maintenance


async def get_maintenance(session: AsyncSession, maintenance_id: str) -> Incident:
    """The maintenance with this id (not an incident); ``NotFound`` when there is none."""
    maintenance = await session.get(Incident, maintenance_id)
    if maintenance is None or maintenance.kind != IncidentKind.maintenance:
        raise NotFound("maintenance", maintenance_id)
    return maintenance


async def list_maintenance(
    session: AsyncSession, query: MaintenanceQuery
) -> tuple[Sequence[Incident], str | None]:
    """A page of maintenance, newest first, by ``query.status``; and the next page's cursor.

    ``InvalidField`` (``cursor``) for a cursor this API did not hand out.
    """
    stmt = select(Incident).where(Incident.kind == IncidentKind.maintenance)
    if query.status is not None:
        stmt = stmt.where(Incident.status == query.status)
    return await paginate(
        session, stmt, Incident.created_at, Incident.id, limit=query.limit, cursor=query.cursor
    )


async def patch_maintenance(
    session: AsyncSession,
    maintenance_id: str,
    body: MaintenancePatch,
    *,
    posted_by: str,
    now: datetime,
) -> Incident:
    """Change the window, title or title's translations (merged as
    ``notifier.translations.merged``), or move the status forward (with an update).

    ``NotFound`` for an unknown id; ``Conflict`` when it has ended, when the window
    would end before it starts, for a move backwards, or for ``cancelled`` (see
    ``cancel_maintenance``), or (``translations.<lang>.body``) for a translated body
    when no update is posted (no ``body``, no new status).
    """
    maintenance = await get_maintenance(session, maintenance_id)
    current = MaintenanceStatus(maintenance.status)
    if current in _ENDED:
        raise Conflict(f"the maintenance is {current} and can no longer change")
    given = translations.sent(body.translations)
    bodies = translations.pick(given, ("body",))
    moves = body.status is not None and body.status != current
    if bodies and body.body is None and not moves:
        # Whether an update is posted depends on the status it has: so a conflict.
        lang = next(iter(bodies))
        raise Conflict(
            "this posts no update to translate: give body (or a new status) with it",
            field=f"translations.{lang}.body",
        )
    changes = body.model_dump(
        exclude_unset=True, exclude={"status", "body", "notify", "urgent", "translations"}
    )
    if changes.get("scheduled_for", maintenance.scheduled_for) != maintenance.scheduled_for:
        maintenance.reminded_at = None  # moved: a reminder before the new window
    for field, value in changes.items():
        setattr(maintenance, field, value)
    if "translations" in body.model_fields_set:
        maintenance.translations = translations.merged(maintenance.translations, given, ("title",))
    if maintenance.scheduled_until <= maintenance.scheduled_for:  # type: ignore[operator]
        raise Conflict("scheduled_until must be after scheduled_for", field="scheduled_until")
    if maintenance.status == MaintenanceStatus.scheduled:
        maintenance.started_at = maintenance.scheduled_for  # type: ignore[assignment]
    maintenance.updated_at = now
    if body.status is not None and body.status != current:
        if body.status is MaintenanceStatus.cancelled:
            raise Conflict("cancel a maintenance with POST .../cancel")
        if _ORDER.index(body.status) < _ORDER.index(current):
            raise Conflict(f"a maintenance cannot go back from {current} to {body.status}")
        text = body.body or AUTO_BODY.get(body.status, f"Maintenance is {body.status}.")
        # A translated body given with the automatic English text translates that.
        said = bodies if body.body or bodies else _auto_translations(body.status)
        await _move(
            session,
            maintenance,
            body.status,
            text,
            body.notify,
            posted_by,
            now,
            body.urgent,
            translated=said,
        )
    elif body.body is not None:
        _add_update(
            maintenance,
            body.body,
            notify=body.notify,
            posted_by=posted_by,
            now=now,
            session=session,
            urgent=body.urgent,
            translated=bodies,
        )
    await session.flush()
    return maintenance


async def cancel_maintenance(
    session: AsyncSession,
    maintenance_id: str,
    body: MaintenanceCancel,
    *,
    posted_by: str,
    now: datetime,
) -> Incident:
    """Cancel a maintenance that has not started, with a last update (left out, the
    body is ``MaintenanceCancel``'s default, and in Japanese ``AUTO_BODY_JA``'s).

    ``NotFound`` for an unknown id; ``Conflict`` unless it is still scheduled.
    """
    maintenance = await get_maintenance(session, maintenance_id)
    if maintenance.status != MaintenanceStatus.scheduled:
        raise Conflict(f"only a scheduled maintenance can be cancelled; it is {maintenance.status}")
    said = translations.pick(translations.sent(body.translations), ("body",))
    if "body" not in body.model_fields_set:
        said = (_auto_translations(MaintenanceStatus.cancelled) or {}) | (said or {})
    await _move(
        session,
        maintenance,
        MaintenanceStatus.cancelled,
        body.body,
        body.notify,
        posted_by,
        now,
        body.urgent,
        translated=said,
    )
    return maintenance


async def auto_transition(session: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """Start maintenance whose window opened and complete those whose window closed.

    Returns (started, completed). Run by the worker's cron job.
    """
    due = await session.scalars(
        select(Incident)
        .where(
            Incident.kind == IncidentKind.maintenance,
            Incident.auto_transition.is_(True),
            or_(
                (Incident.status == MaintenanceStatus.scheduled) & (Incident.scheduled_for <= now),
                Incident.status.in_([MaintenanceStatus.in_progress, MaintenanceStatus.verifying])
                & (Incident.scheduled_until <= now),
            ),
        )
        .order_by(Incident.scheduled_for)
        .with_for_update(skip_locked=True)
    )
    started = completed = 0
    for maintenance in due.all():
        if maintenance.status == MaintenanceStatus.scheduled:
            status = MaintenanceStatus.in_progress
            await _move(
                session,
                maintenance,
                status,
                AUTO_BODY[status],
                True,
                "forewarn",
                now,
                translated=_auto_translations(status),
            )
            started += 1
        if maintenance.scheduled_until is not None and maintenance.scheduled_until <= now:
            status = MaintenanceStatus.completed
            await _move(
                session,
                maintenance,
                status,
                AUTO_BODY[status],
                True,
                "forewarn",
                now,
                translated=_auto_translations(status),
            )
            completed += 1
    if started or completed:
        log.info("maintenance auto-transition: %d started, %d completed", started, completed)
    return started, completed


async def remind(session: AsyncSession, *, now: datetime, lead: timedelta) -> int:
    """Write the reminder notification (event ``maintenance_reminder``) of each public,
    still scheduled maintenance whose window opens within ``lead``; -> how many.

    Once per window: ``reminded_at`` is claimed by a conditional UPDATE, so the cron
    run twice or two workers write one. Kind ``maintenance_reminder``, the subject the
    maintenance, ``update_id`` its latest update, the audience its updates'. None for a
    maintenance scheduled less than ``lead`` ahead: its "scheduled" message is the
    heads-up, and a second one minutes later would be noise.
    """
    due = await session.scalars(
        select(Incident)
        .where(
            Incident.kind == IncidentKind.maintenance,
            Incident.status == MaintenanceStatus.scheduled,
            Incident.public.is_(True),
            Incident.reminded_at.is_(None),
            Incident.scheduled_for > now,
            Incident.scheduled_for <= now + lead,
        )
        .order_by(Incident.scheduled_for)
    )
    written = 0
    for maintenance in due.all():
        assert maintenance.scheduled_for is not None
        if maintenance.created_at > maintenance.scheduled_for - lead or not maintenance.updates:
            continue
        claimed = await session.execute(
            update(Incident)
            .where(Incident.id == maintenance.id, Incident.reminded_at.is_(None))
            .values(reminded_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        notifications.add(
            session,
            kind="maintenance_reminder",
            event=events.Event.maintenance_reminder,
            subject_id=maintenance.id,
            update_id=maintenance.updates[0].id,
            audience=AudienceRule.page(a.component_id for a in maintenance.affected),
            now=now,
        )
        written += 1
    if written:
        log.info("maintenance reminders: %d written", written)
    return written


async def _move(
    session: AsyncSession,
    maintenance: Incident,
    status: MaintenanceStatus,
    text: str,
    notify: bool,
    posted_by: str,
    now: datetime,
    urgent: bool = False,
    *,
    translated: translations.Translations | None = None,
) -> None:
    maintenance.status = status
    maintenance.updated_at = now
    if status is MaintenanceStatus.in_progress:
        maintenance.started_at = now
    if status in _ENDED:
        maintenance.resolved_at = now
    _add_update(
        maintenance,
        text,
        notify=notify,
        posted_by=posted_by,
        now=now,
        session=session,
        urgent=urgent,
        translated=translated,
    )
    await components.refresh_statuses(
        session, [a.component_id for a in maintenance.affected], now=now, incident_id=maintenance.id
    )
    await session.flush()


def _add_update(
    maintenance: Incident,
    text: str,
    *,
    notify: bool,
    posted_by: str,
    now: datetime,
    session: AsyncSession,
    urgent: bool = False,
    translated: translations.Translations | None = None,
) -> None:
    update = IncidentUpdate(
        id=new_id(),
        incident_id=maintenance.id,
        status=maintenance.status,
        body=text,
        translations=translated,
        notify=notify,
        posted_by=posted_by,
        created_at=now,
    )
    session.add(update)
    maintenance.updates.insert(0, update)
    if notify and maintenance.public:
        notifications.add(
            session,
            kind="maintenance_update",
            event=events.of_maintenance(update.status, first=len(maintenance.updates) == 1),
            subject_id=maintenance.id,
            update_id=update.id,
            audience=AudienceRule.page(a.component_id for a in maintenance.affected),
            now=now,
            urgent=urgent,
        )
