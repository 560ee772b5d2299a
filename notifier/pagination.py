"""Cursor (keyset) pagination, newest first, over ``(created_at, id)``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from notifier.errors import InvalidField

Row = TypeVar("Row")


# A cursor is the last row's position: its created_at in microseconds since 1970 (UTC)
# and its id. Every text of this shape is a position, so the OpenAPI document can
# state the rule whole (its pattern) and the server never refuses what it allows.
CURSOR = r"[0-9]{1,16}\.[0-9a-z]{1,18}"
# Where ids are bigints: at most 18 digits, so that every one fits the column.
NUMERIC_CURSOR = r"[0-9]{1,16}\.[0-9]{1,18}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, ident: str) -> str:
    """The cursor after a row: ``"<created_at in microseconds since 1970 UTC>.<id>"``."""
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{ident}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """A cursor's (created_at, id); ``InvalidField`` when it does not have the shape of one."""
    if re.fullmatch(CURSOR, cursor) is None:
        raise InvalidField("cursor", "not a cursor this API handed out")
    micros, _, ident = cursor.partition(".")
    return _EPOCH + int(micros) * _MICROSECOND, ident


async def paginate(
    session: AsyncSession,
    stmt: Select[Row],
    created: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[Any],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Row], str | None]:
    """One page of ``stmt``'s rows, newest first by (``created``, ``ident``), after ``cursor``.

    -> (at most ``limit`` rows, the cursor of the next page or None when this is the
    last). Raises InvalidField when the cursor is not one this API handed out
    (including a non-numeric id where ``ident`` is an integer column).
    """
    if cursor:
        at, last = decode_cursor(cursor)
        # The cursor carries the id as text; compare it as the column's own type.
        typed: Any = last
        if ident.type.python_type is int:
            if re.fullmatch(NUMERIC_CURSOR, cursor) is None:
                raise InvalidField("cursor", "not a cursor this API handed out")
            typed = int(last)
        stmt = stmt.where(or_(created < at, and_(created == at, ident < typed)))
    rows = (
        await session.scalars(stmt.order_by(created.desc(), ident.desc()).limit(limit + 1))
    ).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    tail = rows[-1]
    return rows, encode_cursor(getattr(tail, created.key), getattr(tail, ident.key))
