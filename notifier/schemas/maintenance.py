from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from notifier.schemas.common import Input, Output, PageQuery
from notifier.schemas.incidents import AffectedComponentOut, UpdateOut
from notifier.statuses import MaintenanceStatus


class MaintenanceCreate(Input):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000, description="Markdown.")
    scheduled_for: AwareDatetime
    scheduled_until: AwareDatetime
    components: list[str] = Field(default=[], description="Ids of the components worked on.")
    auto_transition: bool = Field(
        default=True,
        description="Start at scheduled_for and complete at scheduled_until on their own.",
    )
    notify: bool = True
    public: bool = True

    @field_validator("scheduled_until")
    @classmethod
    def _window(cls, value: datetime, info: ValidationInfo) -> datetime:
        # A field validator, so that the error names scheduled_until.
        start = info.data.get("scheduled_for")
        if start is not None and value <= start:
            raise ValueError("must be after scheduled_for")
        return value


class MaintenancePatch(Input):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    scheduled_for: AwareDatetime | None = None
    scheduled_until: AwareDatetime | None = None
    auto_transition: bool | None = None
    status: MaintenanceStatus | None = Field(
        default=None, description="Forward only: scheduled, in_progress, verifying, completed."
    )
    body: str | None = Field(
        default=None, min_length=1, max_length=20_000, description="Posted as an update."
    )
    notify: bool = True

    @field_validator("title", "scheduled_for", "scheduled_until", "auto_transition")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class MaintenanceCancel(Input):
    body: str = Field(default="This maintenance has been cancelled.", min_length=1)
    notify: bool = True


class MaintenanceOut(Output):
    id: str
    title: str
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


class MaintenanceQuery(PageQuery):
    status: MaintenanceStatus | None = None
