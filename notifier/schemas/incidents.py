from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, field_validator

from notifier.schemas.common import Input, Output, PageQuery
from notifier.statuses import ComponentStatus, Impact, IncidentStatus

Title = Field(min_length=1, max_length=300)
Body = Field(min_length=1, max_length=20_000, description="Markdown.")


class AffectedComponent(Input):
    component_id: str
    status: ComponentStatus = ComponentStatus.major_outage


class IncidentCreate(Input):
    title: str = Title
    status: IncidentStatus = IncidentStatus.investigating
    body: str = Body
    impact: Impact = Impact.minor
    components: list[AffectedComponent] = Field(default=[])
    notify: bool = True
    public: bool = True
    next_update_by: AwareDatetime | None = Field(
        default=None, description="The promised time of the next update."
    )
    started_at: AwareDatetime | None = None

    @field_validator("status")
    @classmethod
    def _not_postmortem(cls, value: IncidentStatus) -> IncidentStatus:
        if value is IncidentStatus.postmortem:
            raise ValueError("an incident cannot start in postmortem; resolve it first")
        return value


class IncidentPatch(Input):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    impact: Impact | None = None
    public: bool | None = None
    next_update_by: AwareDatetime | None = None

    @field_validator("title", "impact", "public")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Leave a field out to keep it; only next_update_by may be cleared with null.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class IncidentUpdateCreate(Input):
    status: IncidentStatus
    body: str = Body
    components: list[AffectedComponent] | None = Field(
        default=None, description="New statuses of affected components (added if not yet)."
    )
    notify: bool = True
    next_update_by: AwareDatetime | None = None


class IncidentResolve(Input):
    body: str = Field(default="This incident has been resolved.", min_length=1, max_length=20_000)
    notify: bool = True


class AffectedComponentOut(Output):
    component_id: str
    name: str
    status: ComponentStatus


class UpdateOut(Output):
    id: str
    status: str
    body: str
    notify: bool
    posted_by: str
    next_update_by: datetime | None
    affected_components: list[dict[str, Any]] | None
    created_at: datetime


class IncidentOut(Output):
    id: str
    title: str
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


class IncidentQuery(PageQuery):
    status: IncidentStatus | None = None
    impact: Impact | None = None
    active: bool | None = Field(default=None, description="Only unresolved (true) or ended.")
    component_id: str | None = None
