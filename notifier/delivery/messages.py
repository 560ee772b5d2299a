"""What a notification says: the template context, per locale, from the records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier import questions, translations
from notifier.delivery.channels.base import TIMES, token
from notifier.events import Event
from notifier.markdown import to_text
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

# The context keys each event's templates may use (``context`` returns exactly these),
# for template overrides and previews to check a template against. Per-recipient values
# are not in it: the templates write them as tokens, ``token("greeting")``,
# ``token("manage_url")`` and ``token("unsubscribe_url")`` (``channels.base.TOKENS``).
# Times are already written in the recipient's zone and language ("Dec 20, 10:30 JST").
_PAGE = frozenset({"page_name", "url", "brand_color", "brand_logo_url", "company_url"})
_INCIDENT = _PAGE | {
    "title",
    "status",
    "status_label",
    "body",
    "body_short",
    "components",
    "next_update_by",
}
_MAINTENANCE = _INCIDENT | {"window"}
_PROBLEM = _PAGE | {
    "reference",
    "title",
    "kind",
    "status",
    "status_label",
    "body",
    "body_short",
    "eta",
}
# A rating prompt's (``Event.asks_rating``) on top of its subject's: the page's ``scale``
# (``config.RatingSettings.scale``), its ``scores`` (lowest first), the ``question`` and
# the end points' ``labels`` ({score: text}) from ``notifier.questions``.
ASKED = frozenset({"scale", "scores", "question", "labels"})
VARIABLES: dict[Event, frozenset[str]] = {
    event: {"incident": _INCIDENT, "maintenance": _MAINTENANCE, "problem": _PROBLEM}[event.subject]
    | (ASKED if event.asks_rating else frozenset())
    for event in Event
}


def greeting(locale: str, given: str | None, family: str | None = None) -> str:
    """The salutation for ``locale``, by name when one is known.

    Japanese: the family name with 様 (``山田様``), else the given name (``太郎様``), else
    ``お客様``. English (and any other locale): ``Hi Taro,`` by the given name; with only a
    family name, ``Hello,`` (``Dear Mr/Ms Yamada`` would need a title we do not keep),
    and ``Hello,`` with none.
    """
    given, family = (given or "").strip(), (family or "").strip()
    if locale == "ja":
        return f"{family or given}様" if family or given else "お客様"
    return f"Hi {given}," if given else "Hello,"


def recipient_zone(zone: str | None, page_zone: str) -> str:
    """The IANA zone a recipient's times are written in: their own (``customers.time_zone``,
    "UTC" included: that is a zone they have), the page's when they have none or one
    this machine's tzdata does not know."""
    return zone if zone and _zone_info(zone) is not None else page_zone


@lru_cache(maxsize=1024)
def _zone_info(zone: str) -> ZoneInfo | None:
    # zoneinfo keeps only 8 zones strongly: an audience over more would read tzdata
    # files from disk again for each recipient.
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=64)
def _date_pattern(locale: str) -> str:
    # CLDR's month-and-day form for the locale: "MMM d" (Dec 20), "M月d日" (12月20日).
    return str(Locale.parse(locale).datetime_skeletons["MMMd"].pattern)


def _zone_label(moment: datetime, zone: str) -> str:
    """The zone's abbreviation (JST, EST, CEST), or its IANA name in brackets where tzdata
    has only an offset for it ("+03" for Europe/Istanbul)."""
    name = moment.tzname() or ""
    return f"({zone})" if not name or name[0] in "+-" else name


def _day(moment: datetime, locale: str) -> str:
    return format_date(moment.date(), _date_pattern(locale), locale=locale)


def _day_time(moment: datetime, locale: str) -> str:
    # English puts a comma between the day and the time (Dec 20, 10:30); Japanese a space.
    joiner = " " if locale == "ja" else ", "
    return f"{_day(moment, locale)}{joiner}{moment:%H:%M}"


def _locale(locale: str) -> str:
    return "ja" if locale == "ja" else "en"


def when(value: datetime | None, zone: str, locale: str = "en") -> str:
    """``value`` in time zone ``zone``, in ``locale``'s way, with the zone named:
    ``Dec 20, 10:30 JST``, ``12月20日 10:30 JST``, ``Dec 20, 10:30 (Europe/Istanbul)``;
    "" for None. 24-hour clock; the year is left out (messages are about the coming days).
    Locales other than ja are written as en.
    """
    if value is None:
        return ""
    locale = _locale(locale)
    local = value.astimezone(ZoneInfo(zone))
    return f"{_day_time(local, locale)} {_zone_label(local, zone)}"


def window(starts: datetime | None, ends: datetime | None, zone: str, locale: str = "en") -> str:
    """A maintenance window in time zone ``zone`` and ``locale``'s way: ``Dec 20,
    10:00-12:00 JST`` / ``12月20日 10:00〜12:00 JST`` when both ends fall on one day with one
    zone name there, else both ends in full (``Dec 20, 23:00 JST - Dec 21, 01:00 JST``);
    only the start when ``ends`` is None, "" when ``starts`` is.
    """
    if starts is None:
        return ""
    if ends is None:
        return when(starts, zone, locale)
    locale = _locale(locale)
    start, end = starts.astimezone(ZoneInfo(zone)), ends.astimezone(ZoneInfo(zone))
    dash = "〜" if locale == "ja" else "-"
    # A change of offset inside the day (DST) names two zones: then both ends in full.
    if start.date() == end.date() and start.tzname() == end.tzname():
        return f"{_day_time(start, locale)}{dash}{end:%H:%M} {_zone_label(start, zone)}"
    spaced = dash if locale == "ja" else f" {dash} "
    return f"{when(starts, zone, locale)}{spaced}{when(ends, zone, locale)}"


@dataclass(frozen=True)
class Moments:
    """The times a notification tells, as stored (aware datetimes, None where none):
    an incident's or maintenance's ``next_update_by``, a maintenance's window
    (``starts``, ``ends``), a problem's ``eta``. ``subject`` is the event's
    (``incident``, ``maintenance``, ``problem``): which of them its context has."""

    subject: str
    next_update_by: datetime | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    eta: datetime | None = None

    def written(self, zone: str, locale: str) -> dict[str, str]:
        """The context's time values in ``zone`` (an IANA name tzdata knows) and ``locale``:
        ``eta`` for a problem, ``next_update_by`` otherwise and ``window`` for a
        maintenance, each "" when there is no such time (``when``, ``window``)."""
        if self.subject == "problem":
            return {"eta": when(self.eta, zone, locale)}
        said = {"next_update_by": when(self.next_update_by, zone, locale)}
        if self.subject == "maintenance":
            said["window"] = window(self.starts, self.ends, zone, locale)
        return said


async def moments(session: AsyncSession, notification: Notification) -> Moments:
    """The times ``notification`` tells (its subject and update rows must exist)."""
    subject = Event(notification.event).subject
    if subject == "problem":
        problem = await session.get(DeliveryProblem, notification.subject_id)
        update = await session.get(DeliveryProblemUpdate, notification.update_id)
        assert problem is not None
        assert update is not None
        return Moments(subject, eta=update.eta or problem.eta)
    incident = await session.get(Incident, notification.subject_id)
    incident_update = await session.get(IncidentUpdate, notification.update_id)
    assert incident is not None
    assert incident_update is not None
    return Moments(
        subject,
        next_update_by=incident_update.next_update_by,
        starts=incident.scheduled_for,
        ends=incident.scheduled_until,
    )


def with_time_tokens(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` (one zone's) with each time it tells replaced by its token (``%%eta%%``):
    content for recipients in many zones, each given their own as a value (``Moments.
    written``). A time that is "" stays "", so ``{% if next_update_by %}`` still holds
    exactly when there is one. The HTML part gets the escaping token
    (``rendering``)."""
    return context | {name: token(name) for name in TIMES if context.get(name)}


def shorten(text: str, limit: int = SMS_BODY_CHARS) -> str:
    """``text`` on one line with whitespace runs folded, cut to ``limit`` characters
    (the last one an ellipsis) when longer; "" when ``limit`` is below 1.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…" if limit > 0 else ""


async def context(
    session: AsyncSession,
    notification: Notification,
    settings: Settings,
    locale: str,
    zone: str | None = None,
) -> dict[str, Any]:
    """The template context of ``notification`` for its recipients in one locale and
    time zone: exactly the keys ``VARIABLES[event]`` names.

    A rating prompt's event adds ``ASKED``: ``scale`` from ``settings.ratings`` and its
    words in ``locale`` from ``notifier.questions.asked``.

    Always ``page_name``, ``url`` (the page, with a trailing slash) and the emails' brand,
    ``brand_color`` (``#rrggbb``), ``brand_logo_url`` and ``company_url`` (the logo's
    link), each None when not configured.
    A problem event adds ``reference``, ``title``, ``kind`` (a ``ProblemKind``),
    ``status`` (the update's ``ProblemStatus``) and ``status_label`` (in ``locale``),
    ``body`` (Markdown), ``body_short`` (its plain text, ``shorten``-ed: cut after the
    Markdown is gone, so no mark is left half-open) and ``eta``; an incident or
    maintenance event adds ``title``, ``status`` (the update's ``IncidentStatus`` or
    ``MaintenanceStatus``) and ``status_label`` (in ``locale``), ``body``,
    ``body_short``, ``components`` (affected names) and ``next_update_by`` ("" when
    none was promised) (title, body and names in ``locale`` where the records have a
    translation, else their own: ``notifier.translations``), and a maintenance event
    (a reminder too: its notification names the maintenance and its latest update) its
    scheduled ``window``. Times are written by
    ``when`` and ``window`` in ``zone`` (an IANA name; the page's zone when None or
    empty) and ``locale``. The subject and update rows must exist (the outbox row is
    written with them).
    """
    said = await _context(session, notification, settings, locale, zone)
    if not Event(notification.event).asks_rating:
        return said
    scale = settings.ratings.scale
    return said | {"scale": scale} | questions.asked(scale, locale)


async def _context(
    session: AsyncSession,
    notification: Notification,
    settings: Settings,
    locale: str,
    zone: str | None,
) -> dict[str, Any]:
    zone = recipient_zone(zone, settings.page_time_zone)
    event = Event(notification.event)
    logo = settings.brand_logo_url
    base = {
        "page_name": settings.page_name,
        "url": str(settings.public_url).rstrip("/") + "/",
        "brand_color": settings.brand_color,
        "brand_logo_url": str(logo) if logo else None,
        "company_url": str(settings.company_url) if settings.company_url else None,
    }
    if event.subject == "problem":
        problem = await session.get(DeliveryProblem, notification.subject_id)
        update = await session.get(DeliveryProblemUpdate, notification.update_id)
        assert problem is not None
        assert update is not None
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
            **(await moments(session, notification)).written(zone, locale),
        }
    incident = await session.get(Incident, notification.subject_id)
    incident_update = await session.get(IncidentUpdate, notification.update_id)
    assert incident is not None
    assert incident_update is not None
    labels = STATUS_LABELS.get(locale, STATUS_LABELS["en"])
    # In the recipient's language where ops gave one, else the record's own text.
    body = translations.text(incident_update, "body", locale)
    return {
        **base,
        "title": translations.text(incident, "title", locale),
        "status": incident_update.status,
        "status_label": labels.get(incident_update.status, incident_update.status),
        "body": body,
        "body_short": shorten(to_text(body)),
        "components": [translations.text(a.component, "name", locale) for a in incident.affected],
        **(await moments(session, notification)).written(zone, locale),
    }
