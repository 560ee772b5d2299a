"""The audit log of changes made through the ops API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.pagination import paginate
from notifier.schemas.access import AuditQuery
from notifier.tables import ApiKey, AuditEntry


def record(
    session: AsyncSession,
    key: ApiKey,
    *,
    action: str,
    target_type: str,
    target_id: str,
    changes: dict[str, Any],
    now: datetime,
) -> None:
    """Add one audit entry for a change made with ``key`` (committed with the change).

    ``changes`` is JSON: the names of the fields changed, never personal data.
    """
    session.add(
        AuditEntry(
            at=now,
            api_key_id=key.id,
            api_key_name=key.name,
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes=changes,
        )
    )


async def list_entries(
    session: AsyncSession, query: AuditQuery
) -> tuple[Sequence[AuditEntry], str | None]:
    """Entries filtered by the query's action and target, newest first.

    -> (entries, cursor of the next page or None). Raises InvalidField for a cursor
    this API did not hand out.
    """
    stmt = select(AuditEntry)
    if query.action is not None:
        stmt = stmt.where(AuditEntry.action == query.action)
    if query.target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == query.target_type)
    if query.target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == query.target_id)
    return await paginate(
        session, stmt, AuditEntry.at, AuditEntry.id, limit=query.limit, cursor=query.cursor
    )
