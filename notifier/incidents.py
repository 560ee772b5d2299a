"""Incidents: their lifecycle, update timeline and the components they affect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import PromiseSettings
from notifier import components, events, notifications, promises, translations
from notifier.audience_rule import AudienceRule
from notifier.db import new_id
from notifier.errors import Conflict, InvalidField, NotFound
from notifier.pagination import paginate
from notifier.schemas.incidents import (
    AffectedComponent,
    IncidentCreate,
    IncidentPatch,
    IncidentQuery,
    IncidentResolve,
    IncidentUpdateCreate,
)
from notifier.schemas.translations import BodyText, BodyTranslations
from notifier.statuses import IncidentKind, IncidentStatus
from notifier.tables import Incident, IncidentComponent, IncidentUpdate

ENDED = (IncidentStatus.resolved, IncidentStatus.postmortem)
# ``IncidentResolve``'s default body in Japanese, for a resolution posted without a body.
RESOLVED_JA = "この障害は解決しました。"


async def create_incident(
    session: AsyncSession,
    body: IncidentCreate,
    *,
    posted_by: str,
    now: datetime,
    cadence: PromiseSettings | None = None,
) -> Incident:
    """Open an incident with its first update (and a notification when ``notify``).

    A ``started_at`` in the past starts the components' outage then (uptime history).
    Without ``next_update_by`` the update promises the next one after ``cadence``'s
    minutes for the impact (``notifier.promises``; none without ``cadence``).
    ``UnknownReference`` (``components[i].component_id``) for an unknown component;
    ``InvalidField`` for a component listed twice.
    """
    given = translations.sent(body.translations)
    incident = Incident(
        kind=IncidentKind.incident,
        title=body.title,
        translations=translations.pick(given, ("title",)),
        status=body.status,
        impact=body.impact,
        public=body.public,
        started_at=body.started_at or now,
        next_update_by=body.next_update_by,
        created_at=now,
        updated_at=now,
        affected=[],
        updates=[],
        promises=[],
    )
    session.add(incident)
    await session.flush()
    update = IncidentUpdateCreate(
        status=body.status,
        body=body.body,
        components=body.components,
        notify=body.notify,
        urgent=body.urgent,
        next_update_by=body.next_update_by,
    )
    # Posted late: the components' history starts the outage when the incident did.
    since = incident.started_at if incident.started_at < now else None
    await _record_update(
        session,
        incident,
        update,
        posted_by=posted_by,
        now=now,
        since=since,
        cadence=cadence,
        translated=translations.pick(given, ("body",)),
    )
    return incident


async def get_incident(session: AsyncSession, incident_id: str) -> Incident:
    """The incident with this id (not a maintenance); ``NotFound`` when there is none."""
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.kind != IncidentKind.incident:
        raise NotFound("incident", incident_id)
    return incident


async def list_incidents(
    session: AsyncSession, query: IncidentQuery
) -> tuple[Sequence[Incident], str | None]:
    """A page of incidents, newest first, filtered by ``query``; and the next page's cursor.

    ``InvalidField`` (``cursor``) for a cursor this API did not hand out.
    """
    stmt = select(Incident).where(Incident.kind == IncidentKind.incident)
    if query.status is not None:
        stmt = stmt.where(Incident.status == query.status)
    if query.impact is not None:
        stmt = stmt.where(Incident.impact == query.impact)
    if query.active is True:
        stmt = stmt.where(Incident.status.not_in(ENDED))
    elif query.active is False:
        stmt = stmt.where(Incident.status.in_(ENDED))
    if query.component_id is not None:
        stmt = stmt.where(
            Incident.affected.any(IncidentComponent.component_id == query.component_id)
        )
    return await paginate(
        session, stmt, Incident.created_at, Incident.id, limit=query.limit, cursor=query.cursor
    )


async def patch_incident(
    session: AsyncSession, incident_id: str, body: IncidentPatch, *, now: datetime
) -> Incident:
    """Change the title, impact, visibility, promised next update (RFC 3339 time) or
    the title's translations (merged: ``notifier.translations.merged``).

    ``NotFound`` for an unknown id; ``Conflict`` (``next_update_by``) on an ended incident.
    """
    incident = await get_incident(session, incident_id)
    if isinstance(body.next_update_by, datetime) and not IncidentStatus(incident.status).active:
        raise Conflict(
            f"the incident is {incident.status}; it needs no next update", field="next_update_by"
        )
    changes = body.model_dump(exclude_unset=True, exclude={"translations"})
    for field, value in changes.items():
        setattr(incident, field, value)
    if "translations" in body.model_fields_set:
        patch = translations.sent(body.translations)
        incident.translations = translations.merged(incident.translations, patch, ("title",))
    incident.updated_at = now
    if "next_update_by" in changes and IncidentStatus(incident.status).active:
        await promises.repromise(session, incident, changes["next_update_by"], now=now)
        await session.flush()
        await session.refresh(incident, ["promises"])
    await session.flush()
    return incident


async def post_update(
    session: AsyncSession,
    incident_id: str,
    body: IncidentUpdateCreate,
    *,
    posted_by: str,
    now: datetime,
    reopen: bool = False,
    cadence: PromiseSettings | None = None,
) -> Incident:
    """Post an update: new status, body, affected components; a notification when asked.

    ``reopen`` allows a resolved incident to become active again (and only that).
    The update keeps (or, late, breaks) the open promise and, active, makes the next
    one: ``next_update_by`` or ``cadence``'s default for the impact (``notifier.promises``).
    ``NotFound`` for an unknown id; ``Conflict`` for a transition the lifecycle forbids
    (e.g. an update to a resolved incident without ``reopen``); ``UnknownReference`` and
    ``InvalidField`` for the components, as ``create_incident``.
    """
    incident = await get_incident(session, incident_id)
    _check_transition(IncidentStatus(incident.status), body.status, reopen=reopen)
    if reopen:
        incident.resolved_at = None
    await _record_update(session, incident, body, posted_by=posted_by, now=now, cadence=cadence)
    return incident


async def resolve(
    session: AsyncSession,
    incident_id: str,
    body: IncidentResolve,
    *,
    posted_by: str,
    now: datetime,
) -> Incident:
    """Resolve the incident with a last update; errors as ``post_update``. Left out, the
    body is ``IncidentResolve``'s default, and in Japanese ``RESOLVED_JA`` unless given."""
    given = body.translations
    if "body" not in body.model_fields_set and not (given and given.ja and given.ja.body):
        given = BodyTranslations(ja=BodyText(body=RESOLVED_JA))
    update = IncidentUpdateCreate(
        status=IncidentStatus.resolved,
        body=body.body,
        notify=body.notify,
        urgent=body.urgent,
        translations=given,
    )
    return await post_update(session, incident_id, update, posted_by=posted_by, now=now)


def _check_transition(current: IncidentStatus, new: IncidentStatus, *, reopen: bool) -> None:
    if reopen:
        if current.active:
            raise Conflict("only a resolved incident can be reopened")
        if not new.active:
            raise Conflict("reopen with investigating, identified or monitoring")
        return
    if current.active and new is IncidentStatus.postmortem:
        raise Conflict("resolve the incident before posting its postmortem")
    if current is IncidentStatus.resolved and new is IncidentStatus.resolved:
        raise Conflict("the incident is already resolved")
    if not current.active and new.active:
        raise Conflict(f"the incident is {current}; reopen it to set it to {new}")
    if current is IncidentStatus.postmortem and new is IncidentStatus.resolved:
        raise Conflict("the incident already has a postmortem")


async def _record_update(
    session: AsyncSession,
    incident: Incident,
    body: IncidentUpdateCreate,
    *,
    posted_by: str,
    now: datetime,
    since: datetime | None = None,
    cadence: PromiseSettings | None = None,
    translated: translations.Translations | None = None,
) -> IncidentUpdate:
    """Record ``body`` as the incident's newest update; its body's translations are
    ``translated`` when given (a create's), else ``body.translations``'."""
    if translated is None:
        translated = translations.pick(translations.sent(body.translations), ("body",))
    changes = await _apply_components(session, incident, body.components or [])
    status = IncidentStatus(body.status)
    incident.status = status
    incident.updated_at = now
    incident.next_update_by = (
        None
        if not status.active
        else body.next_update_by or promises.default_due(incident.impact, now, cadence)
    )
    if status is IncidentStatus.monitoring and incident.monitoring_at is None:
        incident.monitoring_at = now
    if status is IncidentStatus.resolved:
        incident.resolved_at = now
    update = IncidentUpdate(
        id=new_id(),
        incident_id=incident.id,
        status=status,
        body=body.body,
        translations=translated,
        notify=body.notify,
        posted_by=posted_by,
        next_update_by=incident.next_update_by,
        affected_components=changes or None,
        created_at=now,
    )
    session.add(update)
    incident.updates.insert(0, update)
    await promises.settle(session, incident.id, now=now)
    if incident.next_update_by is not None:
        await session.flush()  # the update's row first: the promise refers to it
        promises.make(session, incident.id, update.id, incident.next_update_by, now)
    affected_ids = [a.component_id for a in incident.affected]
    if body.notify and incident.public:
        notifications.add(
            session,
            kind="incident_update",
            event=events.of_incident(status, first=len(incident.updates) == 1),
            subject_id=incident.id,
            update_id=update.id,
            audience=AudienceRule.page(affected_ids),
            now=now,
            urgent=body.urgent,
            impact=incident.impact,
        )
    await components.refresh_statuses(
        session, affected_ids, now=now, incident_id=incident.id, since=since
    )
    await session.flush()
    await session.refresh(incident, ["promises"])  # settled and made by statements above
    return update


async def _apply_components(
    session: AsyncSession, incident: Incident, affected: list[AffectedComponent]
) -> list[dict[str, str]]:
    """Add or change the incident's affected components; return Statuspage's change list."""
    found = await components.components_for_field(
        session, [a.component_id for a in affected], "components", "component_id"
    )
    seen: set[str] = set()
    for index, item in enumerate(affected):
        if item.component_id in seen:
            raise InvalidField(f"components[{index}].component_id", "component listed twice")
        seen.add(item.component_id)
    by_id = {a.component_id: a for a in incident.affected}
    changes = []
    for item in affected:
        component = found[item.component_id]
        link = by_id.get(item.component_id)
        if link is None:
            link = IncidentComponent(
                incident_id=incident.id, component_id=component.id, status=item.status
            )
            link.component = component
            incident.affected.append(link)
        link.status = item.status
        changes.append(
            {
                "code": component.id,
                "name": component.name,
                "old_status": component.status,
                "new_status": str(item.status),
            }
        )
    return changes
