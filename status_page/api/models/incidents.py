"""Incidents and scheduled maintenance, with their timelines, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from notifier.statuses import ComponentStatus, Impact, IncidentStatus, MaintenanceStatus
from notifier.tables import Incident, Promise
from status_page.api.models.common import Output, TranslationsOut


class AffectedComponentOut(Output):
    """A component an incident or maintenance affects, and its status there."""

    component_id: str
    name: str
    status: ComponentStatus

    @classmethod
    def of(cls, incident: Incident) -> list[AffectedComponentOut]:
        """An ``Incident`` row's affected components, in page order (position, then name)."""
        return [
            cls(component_id=a.component_id, name=a.component.name, status=a.status)
            for a in sorted(
                incident.affected, key=lambda a: (a.component.position, a.component.name)
            )
        ]


class UpdateOut(Output):
    """One update of an incident's or maintenance's timeline. Times are RFC 3339, in UTC."""

    id: str
    status: str
    body: str
    translations: TranslationsOut
    notify: bool
    posted_by: str
    next_update_by: datetime | None
    affected_components: list[dict[str, Any]] | None
    created_at: datetime


class PromiseOut(Output):
    """A promised next update and how it ended: ``open`` until the next update (or the
    resolution) keeps it by ``due_at``; ``broken`` when ``due_at`` passed without one.
    Times are RFC 3339, in UTC."""

    update_id: str = Field(description="The update that made the promise.")
    due_at: datetime
    state: Literal["open", "kept", "broken"]
    reminded_at: datetime | None = Field(description="When ops were reminded before due_at.")
    kept_at: datetime | None
    broken_at: datetime | None

    @classmethod
    def of(cls, promise: Promise) -> PromiseOut:
        """From a ``Promise`` row."""
        state: Literal["open", "kept", "broken"] = (
            "broken" if promise.broken_at else "kept" if promise.kept_at else "open"
        )
        return cls(
            update_id=promise.update_id,
            due_at=promise.due_at,
            state=state,
            reminded_at=promise.reminded_at,
            kept_at=promise.kept_at,
            broken_at=promise.broken_at,
        )


class IncidentOut(Output):
    """An incident with its affected components and its updates. Times are RFC 3339, in UTC."""

    id: str
    title: str
    translations: TranslationsOut
    status: IncidentStatus
    impact: Impact
    public: bool
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    next_update_by: datetime | None
    created_at: datetime
    updated_at: datetime
    components: list[AffectedComponentOut]
    updates: list[UpdateOut] = Field(description="Newest first.")
    promises: list[PromiseOut] = Field(description="Promised next updates, oldest first.")
    broken_promises: int = Field(description="How many promises were broken.", ge=0)

    @classmethod
    def from_record(cls, incident: Incident) -> IncidentOut:
        """From an ``Incident`` row; its ``affected`` and ``updates`` load with it (selectin)."""
        return cls(
            id=incident.id,
            title=incident.title,
            translations=incident.translations or {},
            status=incident.status,
            impact=incident.impact,
            public=incident.public,
            started_at=incident.started_at,
            monitoring_at=incident.monitoring_at,
            resolved_at=incident.resolved_at,
            next_update_by=incident.next_update_by,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            components=AffectedComponentOut.of(incident),
            updates=[UpdateOut.model_validate(u) for u in incident.updates],
            promises=[PromiseOut.of(p) for p in incident.promises],
            broken_promises=sum(1 for p in incident.promises if p.broken_at is not None),
        )


class MaintenanceOut(Output):
    """A scheduled maintenance with its components and updates. Times are RFC 3339, in UTC."""

    id: str
    title: str
    translations: TranslationsOut
    status: MaintenanceStatus
    public: bool
    scheduled_for: datetime
    scheduled_until: datetime
    auto_transition: bool
    started_at: datetime
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    components: list[AffectedComponentOut]
    updates: list[UpdateOut] = Field(description="Newest first.")

    @classmethod
    def from_record(cls, maintenance: Incident) -> MaintenanceOut:
        """From an ``Incident`` row of kind maintenance (its window is never null)."""
        assert maintenance.scheduled_for is not None
        assert maintenance.scheduled_until is not None
        return cls(
            id=maintenance.id,
            title=maintenance.title,
            translations=maintenance.translations or {},
            status=maintenance.status,
            public=maintenance.public,
            scheduled_for=maintenance.scheduled_for,
            scheduled_until=maintenance.scheduled_until,
            auto_transition=maintenance.auto_transition,
            started_at=maintenance.started_at,
            resolved_at=maintenance.resolved_at,
            created_at=maintenance.created_at,
            updated_at=maintenance.updated_at,
            components=AffectedComponentOut.of(maintenance),
            updates=[UpdateOut.model_validate(u) for u in maintenance.updates],
        )
