"""Which event an update is, for each kind of subject."""

from __future__ import annotations

import pytest

from notifier import events
from notifier.events import Event


@pytest.mark.parametrize(
    ("status", "first", "event"),
    [
        ("investigating", True, Event.incident_created),
        ("identified", True, Event.incident_created),
        ("identified", False, Event.incident_updated),
        ("postmortem", False, Event.incident_updated),
        ("resolved", False, Event.incident_resolved),
        ("resolved", True, Event.incident_resolved),
    ],
)
def test_an_incident_update_is_created_updated_or_resolved(
    status: str, first: bool, event: Event
) -> None:
    assert events.of_incident(status, first=first) is event


@pytest.mark.parametrize(
    ("status", "first", "event"),
    [
        ("scheduled", True, Event.maintenance_scheduled),
        ("scheduled", False, Event.maintenance_updated),
        ("in_progress", True, Event.maintenance_started),
        ("in_progress", False, Event.maintenance_started),
        ("verifying", False, Event.maintenance_updated),
        ("completed", False, Event.maintenance_completed),
        ("cancelled", False, Event.maintenance_cancelled),
    ],
)
def test_a_maintenance_update_names_the_moment_of_its_window(
    status: str, first: bool, event: Event
) -> None:
    assert events.of_maintenance(status, first=first) is event


@pytest.mark.parametrize(
    ("status", "first", "event"),
    [
        ("open", True, Event.problem_opened),
        ("in_progress", False, Event.problem_updated),
        ("open", False, Event.problem_updated),
        ("resolved", False, Event.problem_resolved),
    ],
)
def test_a_problem_update_is_opened_updated_or_resolved(
    status: str, first: bool, event: Event
) -> None:
    assert events.of_problem(status, first=first) is event


def test_events_know_their_subject_and_whether_they_open_or_close_it() -> None:
    assert Event.maintenance_reminder.subject == "maintenance"
    assert [e for e in Event if e.opens] == [
        Event.incident_created,
        Event.maintenance_scheduled,
        Event.problem_opened,
    ]
    assert {e for e in Event if e.closes} == {
        Event.incident_resolved,
        Event.maintenance_completed,
        Event.maintenance_cancelled,
        Event.problem_resolved,
    }
