"""API keys and the audit log, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from status_page.api.models.common import Output


class ApiKeyOut(Output):
    """An API key, never its secret. Times are RFC 3339, in UTC."""

    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


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
