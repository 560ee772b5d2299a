"""Sample data for every event and locale: what a template is checked and previewed with
when no real notification is given.

An incident "Login errors" on two components, a maintenance window of a database
upgrade, a delayed delivery of order ORD-1234 with a new ETA; each in the status its
event tells, in the shape ``messages.context`` gives, times formatted as it formats them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from notifier import questions
from notifier.delivery import messages
from notifier.events import Event
from notifier.markdown import to_text
from notifier.statuses import ProblemKind

# The status each event's update is in (an IncidentStatus, MaintenanceStatus or ProblemStatus).
STATUS = {
    Event.incident_created: "investigating",
    Event.incident_updated: "identified",
    Event.incident_resolved: "resolved",
    Event.maintenance_scheduled: "scheduled",
    Event.maintenance_reminder: "scheduled",
    Event.maintenance_started: "in_progress",
    Event.maintenance_updated: "verifying",
    Event.maintenance_completed: "completed",
    Event.maintenance_cancelled: "cancelled",
    Event.problem_opened: "open",
    Event.problem_updated: "in_progress",
    Event.problem_resolved: "resolved",
    # A prompt names the subject's last update: the one that ended it.
    Event.incident_rating: "resolved",
    Event.maintenance_rating: "completed",
    Event.problem_rating: "resolved",
}
_NEXT_UPDATE = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
_WINDOW = (datetime(2026, 12, 20, 1, 0, tzinfo=UTC), datetime(2026, 12, 20, 3, 0, tzinfo=UTC))
_ETA = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
REFERENCE = "ORD-1234"
_WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "incident": "Login errors",
        "incident_body": "Some customers cannot sign in. We are looking into it now.",
        "components": ["Login", "API"],
        "maintenance": "Database upgrade",
        "maintenance_body": "We are upgrading the database. Sign-in may be slow for a few minutes.",
        "problem": f"Delivery of order {REFERENCE}",
        "problem_body": "Your parcel missed its connection at the depot; it leaves tomorrow.",
        "given_name": "Ann",
        "family_name": "Lee",
    },
    "ja": {
        "incident": "ログインエラー",
        "incident_body": "一部のお客様がログインできない状態です。現在調査しております。",
        "components": ["ログイン", "API"],
        "maintenance": "データベースの更新",
        "maintenance_body": "データベースを更新します。数分間ログインが遅くなる場合があります。",
        "problem": f"ご注文 {REFERENCE} のお届け",
        "problem_body": "配送拠点での積み替えに間に合わず、明日の出荷となります。",
        "given_name": "太郎",
        "family_name": "山田",
    },
}


def context(
    event: Event,
    locale: str,
    names: Iterable[str] = (),
    *,
    zone: str = "UTC",
    page_name: str = "Example status",
    url: str = "https://status.example.com/",
    brand_color: str | None = None,
    brand_logo_url: str | None = None,
    company_url: str | None = None,
    scale: str = "csat",
) -> dict[str, Any]:
    """The sample context of ``event`` in ``locale`` (English for another), times in
    ``zone``; a rating prompt's asks on ``scale`` in the real words
    (``notifier.questions``). Each of ``names`` (the event's variables) it has no
    sample for is given as ``[name]``, so that a template using a variable newer than
    these samples still renders in a preview. The page's name, URL and brand are given
    (a preview passes the settings')."""
    words = _WORDS.get(locale, _WORDS["en"])
    status = STATUS[event]
    said: dict[str, Any] = {
        "page_name": page_name,
        "url": url,
        "brand_color": brand_color,
        "brand_logo_url": brand_logo_url,
        "company_url": company_url,
    }
    if event.subject == "problem":
        body = words["problem_body"]
        said |= {
            "reference": REFERENCE,
            "title": words["problem"],
            "kind": ProblemKind.delayed,
            "status": status,
            "status_label": messages.PROBLEM_STATUS_LABELS.get(
                locale, messages.PROBLEM_STATUS_LABELS["en"]
            )[status],
            "body": body,
            "body_short": messages.shorten(to_text(body)),
            "eta": messages.when(_ETA, zone, locale),
        }
    else:
        labels = messages.STATUS_LABELS.get(locale, messages.STATUS_LABELS["en"])
        body = words[f"{event.subject}_body"]
        said |= {
            "title": words[event.subject],
            "status": status,
            "status_label": labels[status],
            "body": body,
            "body_short": messages.shorten(to_text(body)),
            "components": list(words["components"]),
            "next_update_by": "" if event.closes else messages.when(_NEXT_UPDATE, zone, locale),
        }
        if event.subject == "maintenance":
            said["window"] = messages.window(*_WINDOW, zone, locale)
    if event.asks_rating:
        said |= {"scale": scale} | questions.asked(scale, locale)
    return {name: f"[{name}]" for name in names} | said


def name(locale: str) -> tuple[str, str]:
    """The sample recipient's given and family names in ``locale``."""
    words = _WORDS.get(locale, _WORDS["en"])
    return str(words["given_name"]), str(words["family_name"])
