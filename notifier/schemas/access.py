from __future__ import annotations

from notifier.schemas.common import PageQuery
from notifier.schemas.fields import Filter


class AuditQuery(PageQuery):
    action: Filter | None = None
    target_type: Filter | None = None
    target_id: Filter | None = None
