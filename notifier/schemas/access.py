"""What the audit log is queried by."""

from __future__ import annotations

from notifier.schemas.common import PageQuery
from notifier.schemas.fields import Filter


class AuditQuery(PageQuery):
    """A page of the audit log, newest first, optionally only one action, type or record."""

    action: Filter | None = None
    target_type: Filter | None = None
    target_id: Filter | None = None
