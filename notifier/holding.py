"""The automatic holding update (``FOREWARN_PROMISES__HOLDING_UPDATE``, off by default).

When a promised update falls due and none was posted, the worker posts one in the
incident's current status: "We are still working on this. Next update by 15:30 UTC."
with a new promise, and it notifies subscribers like any update (a public incident's).
It keeps the promise that fell due: subscribers heard from us when we said they
would. The new promise is due after the impact's cadence, or, for an impact without
one, after the same interval as the promise it replaces.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier import incidents, promises
from notifier.schemas.incidents import IncidentUpdateCreate
from notifier.schemas.translations import BodyText, BodyTranslations
from notifier.statuses import IncidentStatus
from notifier.tables import Incident, Promise

POSTED_BY = "forewarn"
BODY = "We are still working on this. Next update by {when}."
BODY_JA = "現在も対応を続けております。次回は {when} までにお知らせします。"


async def post_holding_updates(session: AsyncSession, settings: Settings, *, now: datetime) -> int:
    """Post a holding update on each incident whose promise fell due without an update;
    -> how many. Each promise is claimed by a conditional UPDATE (``kept_at``), so two
    workers post one. Run it before ``promises.claim_broken`` in the same tick."""
    posted = 0
    for promise in await promises.overdue(session, now=now):
        incident = await session.get(Incident, promise.incident_id)
        if incident is None or not IncidentStatus(incident.status).active:
            continue
        claimed = await session.execute(
            update(Promise)
            .where(Promise.id == promise.id, Promise.kept_at.is_(None), Promise.broken_at.is_(None))
            .values(kept_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        interval = promise.due_at - promise.created_at
        due = promises.default_due(incident.impact, now, settings.promises) or now + max(
            interval, timedelta(minutes=settings.promises.reminder_lead_minutes)
        )
        when = due.astimezone(ZoneInfo(settings.page_time_zone)).strftime("%H:%M %Z")
        body = IncidentUpdateCreate(
            status=IncidentStatus(incident.status),
            body=BODY.format(when=when),
            next_update_by=due,
            translations=BodyTranslations(ja=BodyText(body=BODY_JA.format(when=when))),
        )
        await incidents.post_update(session, incident.id, body, posted_by=POSTED_BY, now=now)
        posted += 1
    return posted
