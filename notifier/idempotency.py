"""Idempotency-Key records: the first response to a POST, replayed on a retry."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.tables import IdempotencyRecord


def request_hash(method: str, path: str, body: bytes) -> str:
    """The hex SHA-256 of a request's method, path and raw body: what a replay must match."""
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


async def find(session: AsyncSession, api_key_id: str, key: str) -> IdempotencyRecord | None:
    """The response remembered for this API key's ``Idempotency-Key``, or None."""
    return await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    )


def remember(
    session: AsyncSession,
    api_key_id: str,
    key: str,
    *,
    request: str,
    status: int,
    body: str,
    now: datetime,
) -> None:
    """Add the response to a POST under its ``Idempotency-Key`` (committed with its effect).

    ``request`` is ``request_hash(...)``; ``status`` the HTTP status and ``body`` the
    JSON text sent. A second one for the same (key id, key) fails the commit with an
    IntegrityError, which the API answers by replaying the first.
    """
    session.add(
        IdempotencyRecord(
            api_key_id=api_key_id,
            key=key,
            request_hash=request,
            status=status,
            body=body,
            created_at=now,
        )
    )


async def prune(session: AsyncSession, *, older_than: timedelta, now: datetime) -> int:
    """Delete records older than ``older_than`` before ``now``; -> how many went."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
