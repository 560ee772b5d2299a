"""Request bodies for components and component groups."""

from __future__ import annotations

from pydantic import MISSING, Field

from notifier.schemas.common import Input
from notifier.schemas.fields import Description, Name, Position, RecordId
from notifier.schemas.translations import NamePatchTranslations, NameTranslations
from notifier.statuses import ComponentStatus

_PATCH = (
    "The name and description in other page languages: a text replaces, null removes "
    "(a field or a whole language), left out keeps."
)


class ComponentCreate(Input):
    """A new component; its status starts its uptime history."""

    name: Name
    description: Description = ""
    group_id: RecordId | None = None
    position: Position = 0
    status: ComponentStatus = ComponentStatus.operational
    visible: bool = True
    only_show_if_degraded: bool = False
    translations: NameTranslations | None = Field(
        default=None,
        description=(
            "The name and description in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )


class ComponentPatch(Input):
    """Leave a field out to keep it; only group_id may be cleared with null."""

    name: Name | MISSING = MISSING
    description: Description | MISSING = MISSING
    group_id: RecordId | MISSING | None = MISSING
    position: Position | MISSING = MISSING
    status: ComponentStatus | MISSING = MISSING
    visible: bool | MISSING = MISSING
    only_show_if_degraded: bool | MISSING = MISSING
    translations: NamePatchTranslations | MISSING = Field(default=MISSING, description=_PATCH)


class GroupCreate(Input):
    """A new component group, and the components it takes in."""

    name: Name
    description: Description = ""
    position: Position = 0
    components: list[RecordId] = Field(default=[], description="Ids of components to move in.")
    translations: NameTranslations | None = Field(
        default=None,
        description=(
            "The name and description in other page languages (ja); where a text is left out, "
            "pages and messages in that language show this body's own."
        ),
    )


class GroupPatch(Input):
    """Leave a field out to keep it."""

    name: Name | MISSING = MISSING
    description: Description | MISSING = MISSING
    position: Position | MISSING = MISSING
    components: list[RecordId] | MISSING = Field(
        default=MISSING, description="Ids of the components in the group (replaces the list)."
    )
    translations: NamePatchTranslations | MISSING = Field(default=MISSING, description=_PATCH)
