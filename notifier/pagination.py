"""Cursor (keyset) pagination, newest first, over ``(created_at, id)``."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from notifier.errors import InvalidField

Row = TypeVar("Row")


def encode_cursor(created_at: datetime, ident: str) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive cursor time")
        return when, str(ident)
    except (ValueError, TypeError):
        raise InvalidField("cursor", "not a cursor this API handed out") from None


async def paginate(
    session: AsyncSession,
    stmt: Select[Row],
    created: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[Any],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Row], str | None]:
    if cursor:
        at, last = decode_cursor(cursor)
        # The cursor carries the id as text; compare it as the column's own type.
        typed: Any = int(last) if ident.type.python_type is int else last
        stmt = stmt.where(or_(created < at, and_(created == at, ident < typed)))
    rows = (
        await session.scalars(stmt.order_by(created.desc(), ident.desc()).limit(limit + 1))
    ).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    tail = rows[-1]
    return rows, encode_cursor(getattr(tail, created.key), getattr(tail, ident.key))
