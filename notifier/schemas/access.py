"""Ops API models of API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from notifier.schemas.common import Output, PageQuery
from notifier.schemas.fields import Filter


class ApiKeyOut(Output):
    """An ops API key as listed; the secret is shown only once, when the key is created."""

    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class AuditEntryOut(Output):
    """One change made through the ops API: which key, which action on which record, and
    the names of the fields it changed (never their values).
    """

    id: str
    at: datetime
    api_key_id: str | None
    api_key_name: str
    action: str
    target_type: str
    target_id: str
    changes: dict[str, Any]


class AuditQuery(PageQuery):
    """The query of the audit log: entries matching every filter given, newest first."""

    action: Filter | None = None
    target_type: Filter | None = None
    target_id: Filter | None = None
