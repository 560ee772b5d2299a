"""Request bodies and queries for incidents and their updates."""

from __future__ import annotations

from typing import Annotated

from pydantic import MISSING, AfterValidator, Field, WithJsonSchema

from notifier.schemas.common import Input, PageQuery
from notifier.schemas.fields import URGENT, Body, Instant, RecordId, Title
from notifier.schemas.translations import (
    BodyTranslations,
    TitleBodyTranslations,
    TitlePatchTranslations,
)
from notifier.statuses import ComponentStatus, Impact, IncidentStatus


class AffectedComponent(Input):
    """A component an incident affects, and the status it gives it."""

    component_id: RecordId
    status: ComponentStatus = ComponentStatus.major_outage


def _not_postmortem(value: IncidentStatus) -> IncidentStatus:
    if value is IncidentStatus.postmortem:
        raise ValueError("an incident cannot start in postmortem; resolve it first")
    return value


# Any status but postmortem, and the document's enum says so.
OpeningStatus = Annotated[
    IncidentStatus,
    AfterValidator(_not_postmortem),
    WithJsonSchema(
        {
            "type": "string",
            "enum": [s.value for s in IncidentStatus if s is not IncidentStatus.postmortem],
            "description": "Any status but postmortem (resolve the incident first).",
        }
    ),
]


class IncidentCreate(Input):
    """A new incident and its first update."""

    title: Title
    status: OpeningStatus = IncidentStatus.investigating
    body: Body
    impact: Impact = Impact.minor
    components: list[AffectedComponent] = Field(
        default=[], description="The affected components, each at most once."
    )
    notify: bool = True
    urgent: bool = URGENT
    public: bool = True
    next_update_by: Instant | None = Field(
        default=None, description="The promised time of the next update."
    )
    started_at: Instant | None = None
    translations: TitleBodyTranslations | None = Field(
        default=None,
        description=(
            "The title and body in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )


class IncidentPatch(Input):
    """Leave a field out to keep it; only next_update_by may be cleared with null."""

    title: Title | MISSING = MISSING
    impact: Impact | MISSING = MISSING
    public: bool | MISSING = MISSING
    next_update_by: Instant | MISSING | None = MISSING
    translations: TitlePatchTranslations | MISSING = Field(
        default=MISSING,
        description=(
            "The title in other page languages: a text replaces, null removes "
            "(a field or a whole language), left out keeps."
        ),
    )


class IncidentUpdateCreate(Input):
    """An update of an incident: its new status, what to tell, affected components."""

    status: IncidentStatus
    body: Body
    components: list[AffectedComponent] | None = Field(
        default=None,
        description="New statuses of affected components (added if not yet), each at most once.",
    )
    notify: bool = True
    urgent: bool = URGENT
    next_update_by: Instant | None = None
    translations: BodyTranslations | None = Field(
        default=None,
        description=(
            "The body in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )


class IncidentResolve(Input):
    """The last update of an incident, which resolves it."""

    body: Body = "This incident has been resolved."
    notify: bool = True
    urgent: bool = URGENT
    translations: BodyTranslations | None = Field(
        default=None,
        description=(
            "The body in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )


class IncidentQuery(PageQuery):
    """A page of incidents, newest first, optionally filtered."""

    status: IncidentStatus | None = None
    impact: Impact | None = None
    active: bool | None = Field(default=None, description="Only unresolved (true) or ended.")
    component_id: RecordId | None = None
