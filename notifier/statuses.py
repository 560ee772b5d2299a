"""The enumerations of the records, spelled as Atlassian Statuspage spells them."""

from __future__ import annotations

from enum import StrEnum


class ComponentStatus(StrEnum):
    operational = "operational"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"
    under_maintenance = "under_maintenance"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {
    ComponentStatus.operational: 0,
    ComponentStatus.under_maintenance: 1,
    ComponentStatus.degraded_performance: 2,
    ComponentStatus.partial_outage: 3,
    ComponentStatus.major_outage: 4,
}


def worst(statuses: list[ComponentStatus]) -> ComponentStatus:
    return max(statuses, key=lambda s: s.severity, default=ComponentStatus.operational)


class IncidentStatus(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"
    postmortem = "postmortem"

    @property
    def active(self) -> bool:
        return self not in (IncidentStatus.resolved, IncidentStatus.postmortem)


class MaintenanceStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    verifying = "verifying"
    completed = "completed"
    cancelled = "cancelled"


class Impact(StrEnum):
    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"


class IncidentKind(StrEnum):
    incident = "incident"
    maintenance = "maintenance"


class ProblemKind(StrEnum):
    delayed = "delayed"
    failed_attempt = "failed_attempt"
    lost = "lost"
    damaged = "damaged"
    cancelled = "cancelled"


class ProblemStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"


class Locale(StrEnum):
    en = "en"
    ja = "ja"
