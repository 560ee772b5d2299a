from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from notifier.schemas.common import Input, Output
from notifier.statuses import ComponentStatus


class ComponentCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    group_id: str | None = None
    position: int = 0
    status: ComponentStatus = ComponentStatus.operational
    visible: bool = True
    only_show_if_degraded: bool = False


class ComponentPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    group_id: str | None = None
    position: int | None = None
    status: ComponentStatus | None = None
    visible: bool | None = None
    only_show_if_degraded: bool | None = None

    @field_validator(
        "name", "description", "position", "status", "visible", "only_show_if_degraded"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Leave a field out to keep it; only group_id may be cleared with null.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class ComponentOut(Output):
    id: str
    name: str
    description: str
    group_id: str | None
    position: int
    status: ComponentStatus
    visible: bool
    only_show_if_degraded: bool
    created_at: datetime
    updated_at: datetime


class GroupCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    position: int = 0
    components: list[str] = Field(default=[], description="Ids of components to move in.")


class GroupPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    position: int | None = None
    components: list[str] | None = None


class GroupOut(Output):
    id: str
    name: str
    description: str
    position: int
    components: list[str]
    created_at: datetime
    updated_at: datetime
