"""The audit log, as the ops API answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from status_page.api.models.common import Output


class AuditEntryOut(Output):
    """One change made through the ops API, and the key that made it. Times are RFC 3339, UTC."""

    id: str
    at: datetime
    api_key_id: str | None
    api_key_name: str
    action: str
    target_type: str
    target_id: str
    changes: dict[str, Any]
