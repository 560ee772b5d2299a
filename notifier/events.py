"""The events a notification tells, one per kind of message a customer gets.

A notification is written for one update of an incident, a maintenance or a delivery
problem; its event says which message that update is: the first one ("created",
"scheduled", "opened"), an ending one ("resolved", "completed", "cancelled"), a
maintenance's start, or any other update. The event picks the templates
(``notifier/delivery/templates``), and the care policies ask it whether a message
matters enough to break through (``notifier/delivery``). Statuspage names the same
moments in its subscriber notifications (incident created, updated, resolved;
maintenance scheduled, started, completed).
"""

from __future__ import annotations

from enum import StrEnum

from notifier.statuses import IncidentStatus, MaintenanceStatus, ProblemStatus


class Event(StrEnum):
    """What one notification tells (``notifications.event``)."""

    incident_created = "incident_created"
    incident_updated = "incident_updated"
    incident_resolved = "incident_resolved"
    maintenance_scheduled = "maintenance_scheduled"
    # A new notification ahead of the window (not an update of the maintenance).
    maintenance_reminder = "maintenance_reminder"
    maintenance_started = "maintenance_started"
    maintenance_updated = "maintenance_updated"
    maintenance_completed = "maintenance_completed"
    maintenance_cancelled = "maintenance_cancelled"
    problem_opened = "problem_opened"
    problem_updated = "problem_updated"
    problem_resolved = "problem_resolved"
    # The rating prompt after the subject was resolved (completed), one per customer it
    # reached (``notifier.care.prompts``): a notification of its own.
    incident_rating = "incident_rating"
    maintenance_rating = "maintenance_rating"
    problem_rating = "problem_rating"

    @property
    def subject(self) -> str:
        """``incident``, ``maintenance`` or ``problem``: what the event is about."""
        return self.value.split("_", 1)[0]

    @property
    def opens(self) -> bool:
        """The subject's first message: created, scheduled or opened."""
        return self in _OPENING

    @property
    def closes(self) -> bool:
        """The subject's last message: resolved, completed or cancelled."""
        return self in _CLOSING

    @property
    def asks_rating(self) -> bool:
        """A rating prompt, not news about the subject: the care policies never fold a
        message into it nor it into one (``notifier.delivery.care``)."""
        return self in RATING


_OPENING = frozenset({Event.incident_created, Event.maintenance_scheduled, Event.problem_opened})
_CLOSING = frozenset(
    {
        Event.incident_resolved,
        Event.maintenance_completed,
        Event.maintenance_cancelled,
        Event.problem_resolved,
    }
)


# The rating prompts' events, by the subject they ask about.
RATING = frozenset({Event.incident_rating, Event.maintenance_rating, Event.problem_rating})


def rating_of(subject: str) -> Event:
    """The rating prompt's event about a ``subject`` (incident, maintenance, problem)."""
    return Event(f"{subject}_rating")


def of_incident(status: str, *, first: bool) -> Event:
    """The event of an incident update in ``status`` (an ``IncidentStatus``); ``first``:
    the incident's opening update. A postmortem is an update."""
    if status == IncidentStatus.resolved:
        return Event.incident_resolved
    return Event.incident_created if first else Event.incident_updated


def of_maintenance(status: str, *, first: bool) -> Event:
    """The event of a maintenance update in ``status`` (a ``MaintenanceStatus``);
    ``first``: the maintenance's opening update. A maintenance posted already in
    progress is "started"; verifying, or a scheduled one edited, is "updated"."""
    if status == MaintenanceStatus.in_progress:
        return Event.maintenance_started
    if status == MaintenanceStatus.completed:
        return Event.maintenance_completed
    if status == MaintenanceStatus.cancelled:
        return Event.maintenance_cancelled
    if status == MaintenanceStatus.scheduled and first:
        return Event.maintenance_scheduled
    return Event.maintenance_updated


def of_problem(status: str, *, first: bool) -> Event:
    """The event of a delivery problem update in ``status`` (a ``ProblemStatus``);
    ``first``: the problem's opening update."""
    if status == ProblemStatus.resolved:
        return Event.problem_resolved
    return Event.problem_opened if first else Event.problem_updated
