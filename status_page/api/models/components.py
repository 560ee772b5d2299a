"""Components and component groups, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime

from notifier.statuses import ComponentStatus
from notifier.tables import ComponentGroup
from status_page.api.models.common import Output, TranslationsOut


class ComponentOut(Output):
    """A component of the status page. Times are RFC 3339, in UTC."""

    id: str
    name: str
    description: str
    translations: TranslationsOut
    group_id: str | None
    position: int
    status: ComponentStatus
    visible: bool
    only_show_if_degraded: bool
    created_at: datetime
    updated_at: datetime


class GroupOut(Output):
    """A component group with the ids of its components, in page order."""

    id: str
    name: str
    description: str
    translations: TranslationsOut
    position: int
    components: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, group: ComponentGroup) -> GroupOut:
        """From a ``ComponentGroup`` row (its ``components`` loaded, as they are by default)."""
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            translations=group.translations or {},
            position=group.position,
            components=[c.id for c in group.components],
            created_at=group.created_at,
            updated_at=group.updated_at,
        )
