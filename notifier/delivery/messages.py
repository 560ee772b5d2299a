"""What a notification says: the template context, per locale, from the records."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier.markdown import to_text
from notifier.statuses import IncidentKind
from notifier.tables import (
    DeliveryProblem,
    DeliveryProblemUpdate,
    Incident,
    IncidentUpdate,
    Notification,
)

STATUS_LABELS = {
    "en": {
        "investigating": "Investigating",
        "identified": "Identified",
        "monitoring": "Monitoring",
        "resolved": "Resolved",
        "postmortem": "Postmortem",
        "scheduled": "Scheduled",
        "in_progress": "In progress",
        "verifying": "Verifying",
        "completed": "Completed",
        "cancelled": "Cancelled",
    },
    "ja": {
        "investigating": "調査中",
        "identified": "原因特定",
        "monitoring": "経過観察中",
        "resolved": "解決済み",
        "postmortem": "事後報告",
        "scheduled": "予定",
        "in_progress": "作業中",
        "verifying": "確認中",
        "completed": "完了",
        "cancelled": "中止",
    },
}
# A delivery problem's status, as its customer reads it (in_progress is not a
# maintenance's "work in progress" here).
PROBLEM_STATUS_LABELS = {
    "en": {"open": "Open", "in_progress": "In progress", "resolved": "Resolved"},
    "ja": {"open": "確認中", "in_progress": "対応中", "resolved": "解決済み"},
}
SMS_BODY_CHARS = 200


def greeting(locale: str, name: str | None) -> str:
    """The salutation by name for ``locale``: ``山田 様`` / ``Hi Ann,``, or an anonymous one."""
    if locale == "ja":
        return f"{name} 様" if name else "お客様"
    return f"Hi {name}," if name else "Hello,"


def when(value: datetime | None, zone: str) -> str:
    """``value`` in time zone ``zone`` as ``2026-11-23 18:30 JST``; "" for None."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def window(starts: datetime | None, ends: datetime | None, zone: str) -> str:
    """A maintenance window in time zone ``zone``: ``2026-12-20 10:00-12:00 JST`` when
    both ends fall on one day with one zone name there, else ``2026-12-20 23:00 JST -
    2026-12-21 01:00 JST``; only the start when ``ends`` is None, "" when ``starts`` is.
    """
    if starts is None:
        return ""
    if ends is None:
        return when(starts, zone)
    start, end = starts.astimezone(ZoneInfo(zone)), ends.astimezone(ZoneInfo(zone))
    # A change of offset inside the day (DST) names two zones: then both ends in full.
    if start.date() == end.date() and start.tzname() == end.tzname():
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} {start:%Z}"
    return f"{when(starts, zone)} - {when(ends, zone)}"


def shorten(text: str, limit: int = SMS_BODY_CHARS) -> str:
    """``text`` on one line with whitespace runs folded, cut to ``limit`` characters
    (the last one an ellipsis) when longer.
    """
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def context(
    session: AsyncSession, notification: Notification, settings: Settings, locale: str
) -> dict[str, Any]:
    """The template context of ``notification`` for one locale's recipients.

    Always ``page_name``, ``url`` (the page, with a trailing slash) and the emails' brand,
    ``brand_color`` (``#rrggbb``) and ``brand_logo_url`` (each None when not configured).
    A problem update adds ``reference``, ``title``, ``kind`` (a ``ProblemKind``),
    ``status`` (the update's ``ProblemStatus``) and ``status_label`` (in ``locale``),
    ``body`` (Markdown), ``body_short`` (its plain text, ``shorten``-ed: cut after the
    Markdown is gone, so no mark is left half-open) and ``eta``; an incident or
    maintenance update adds ``title``, ``status`` (the update's ``IncidentStatus`` or
    ``MaintenanceStatus``) and ``status_label`` (in ``locale``), ``body``,
    ``body_short``, ``components`` (affected names) and ``next_update_by``, and a
    maintenance its scheduled ``window``. Times are formatted in the page's time zone. The
    subject and update rows must exist (the outbox row is written with them).
    """
    zone = settings.page_time_zone
    logo = settings.brand_logo_url
    base = {
        "page_name": settings.page_name,
        "url": str(settings.public_url).rstrip("/") + "/",
        "brand_color": settings.brand_color,
        "brand_logo_url": str(logo) if logo else None,
    }
    if notification.kind == "problem_update":
        problem = await session.get(DeliveryProblem, notification.subject_id)
        update = await session.get(DeliveryProblemUpdate, notification.update_id)
        assert problem is not None
        assert update is not None
        eta = update.eta or problem.eta
        return {
            **base,
            "reference": problem.reference,
            "title": problem.title,
            "kind": problem.kind,
            "status": update.status,
            "status_label": PROBLEM_STATUS_LABELS.get(locale, PROBLEM_STATUS_LABELS["en"]).get(
                update.status, update.status
            ),
            "body": update.body,
            "body_short": shorten(to_text(update.body)),
            "eta": when(eta, zone),
        }
    incident = await session.get(Incident, notification.subject_id)
    incident_update = await session.get(IncidentUpdate, notification.update_id)
    assert incident is not None
    assert incident_update is not None
    labels = STATUS_LABELS.get(locale, STATUS_LABELS["en"])
    said: dict[str, Any] = {
        **base,
        "title": incident.title,
        "status": incident_update.status,
        "status_label": labels.get(incident_update.status, incident_update.status),
        "body": incident_update.body,
        "body_short": shorten(to_text(incident_update.body)),
        "components": [a.component.name for a in incident.affected],
        "next_update_by": when(incident_update.next_update_by, zone),
    }
    if incident.kind == IncidentKind.maintenance:
        said["window"] = window(incident.scheduled_for, incident.scheduled_until, zone)
    return said
