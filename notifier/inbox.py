"""One host-application user's in-app inbox: list, count unread, mark read.

The host application proves a user id with the hex HMAC-SHA256 of it keyed by
the in-app secret (``signing.inapp_hash``; Intercom's and Novu's convention); every
query here is scoped to that one user id.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import signing
from notifier.errors import InvalidField, NotFound
from notifier.pagination import NUMERIC_CURSOR, decode_cursor, encode_cursor
from notifier.tables import InboxMessage


def authentic(secret: str, user_id: str, user_hash: str) -> bool:
    """Whether ``user_hash`` is the host application's proof of ``user_id``."""
    if not user_id or not user_hash:
        return False
    expected = signing.inapp_hash(secret, user_id).encode()
    return hmac.compare_digest(expected, user_hash.strip().lower().encode())


def cursor_position(cursor: str) -> tuple[datetime, int]:
    """A cursor's (created_at, id); ``InvalidField`` when it was not one of ours."""
    if re.fullmatch(NUMERIC_CURSOR, cursor) is None:
        raise InvalidField("cursor", "not a cursor this API handed out")
    at, ident = decode_cursor(cursor)
    return at, int(ident)


async def page(
    session: AsyncSession, user_id: str, *, limit: int, cursor: str | None
) -> tuple[Sequence[InboxMessage], str | None]:
    """The user's messages, newest first, ``limit`` at a time."""
    # Keyset on (created_at, id) like notifier.pagination, with an integer id:
    # PostgreSQL will not compare a bigint with the cursor's string.
    stmt = select(InboxMessage).where(InboxMessage.user_id == user_id)
    if cursor:
        at, last = cursor_position(cursor)
        stmt = stmt.where(
            or_(
                InboxMessage.created_at < at,
                and_(InboxMessage.created_at == at, InboxMessage.id < last),
            )
        )
    stmt = stmt.order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc()).limit(limit + 1)
    rows = (await session.scalars(stmt)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, str(rows[-1].id))


async def unread_count(session: AsyncSession, user_id: str) -> int:
    """How many of the user's messages have no ``read_at``."""
    stmt = select(func.count()).where(
        InboxMessage.user_id == user_id, InboxMessage.read_at.is_(None)
    )
    return int(await session.scalar(stmt) or 0)


async def mark_read(
    session: AsyncSession, user_id: str, message_id: int, *, now: datetime
) -> InboxMessage:
    """Mark one of the user's messages read (again is a no-op); another user's is NotFound."""
    message = await session.scalar(
        select(InboxMessage).where(InboxMessage.id == message_id, InboxMessage.user_id == user_id)
    )
    if message is None:
        # The same answer whether the id is unknown or someone else's: nothing to probe.
        raise NotFound("inbox message", str(message_id))
    if message.read_at is None:
        message.read_at = now
        await session.flush()
    return message


async def mark_all_read(session: AsyncSession, user_id: str, *, now: datetime) -> int:
    """Mark every unread message of the user read; how many were unread."""
    result = await session.execute(
        update(InboxMessage)
        .where(InboxMessage.user_id == user_id, InboxMessage.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def event(message: InboxMessage) -> dict[str, Any]:
    """A stored message in the shape the in-app channel publishes it live."""
    return {
        "id": message.id,
        "title": message.title,
        "body": message.body,
        "url": message.url,
        "created_at": message.created_at.isoformat(),
    }
