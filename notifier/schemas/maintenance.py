"""Request bodies and queries for scheduled maintenance."""

from __future__ import annotations

from datetime import datetime

from pydantic import MISSING, Field, ValidationInfo, field_validator

from notifier.schemas.common import Input, PageQuery
from notifier.schemas.fields import URGENT, Body, Instant, RecordId, Title
from notifier.schemas.translations import (
    BodyTranslations,
    MaintenancePatchTranslations,
    TitleBodyTranslations,
)
from notifier.statuses import MaintenanceStatus


class MaintenanceCreate(Input):
    """A new scheduled maintenance, its window and its first update."""

    title: Title
    body: Body
    scheduled_for: Instant
    scheduled_until: Instant = Field(description="After scheduled_for.")
    components: list[RecordId] = Field(default=[], description="Ids of the components worked on.")
    auto_transition: bool = Field(
        default=True,
        description="Start at scheduled_for and complete at scheduled_until on their own.",
    )
    notify: bool = True
    urgent: bool = URGENT
    public: bool = True
    translations: TitleBodyTranslations | None = Field(
        default=None,
        description=(
            "The title and body in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )

    @field_validator("scheduled_until")
    @classmethod
    def _window(cls, value: datetime, info: ValidationInfo) -> datetime:
        # A field validator, so that the error names scheduled_until.
        start = info.data.get("scheduled_for")
        if start is not None and value <= start:
            raise ValueError("must be after scheduled_for")
        return value


class MaintenancePatch(Input):
    """Leave a field out to keep it."""

    title: Title | MISSING = MISSING
    scheduled_for: Instant | MISSING = MISSING
    scheduled_until: Instant | MISSING = Field(
        default=MISSING, description="After scheduled_for (as sent, or as it is)."
    )
    auto_transition: bool | MISSING = MISSING
    status: MaintenanceStatus | None = Field(
        default=None, description="Forward only: scheduled, in_progress, verifying, completed."
    )
    body: Body | None = Field(default=None, description="Posted as an update.")
    notify: bool = True
    urgent: bool = URGENT
    translations: MaintenancePatchTranslations | MISSING = Field(
        default=MISSING,
        description=(
            "The title in other page languages (a text replaces, null removes, left out "
            "keeps) and the body of the update this posts (with body, or with a new status "
            "to translate its automatic text; 409 when it posts none)."
        ),
    )

    @field_validator("scheduled_until")
    @classmethod
    def _window(cls, value: datetime, info: ValidationInfo) -> datetime:
        # Both sent: they must agree; one sent: the record's other end decides (409).
        start = info.data.get("scheduled_for")
        if isinstance(start, datetime) and value <= start:
            raise ValueError("must be after scheduled_for")
        return value


class MaintenanceCancel(Input):
    """The last update of a maintenance cancelled before it started."""

    body: Body = "This maintenance has been cancelled."
    notify: bool = True
    urgent: bool = URGENT
    translations: BodyTranslations | None = Field(
        default=None,
        description=(
            "The body in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )


class MaintenanceQuery(PageQuery):
    """A page of maintenance, newest first, optionally by status."""

    status: MaintenanceStatus | None = None
