"""Idempotency-Key records: the first response to a POST, replayed on a retry."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.tables import IdempotencyRecord


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


async def find(session: AsyncSession, api_key_id: str, key: str) -> IdempotencyRecord | None:
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
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
