"""One host-application user's in-app inbox: list and filter, count, and mark messages
seen, read or archived (and back).

The host application proves a user id with the hex HMAC-SHA256 of it keyed by the
in-app secret (``signing.inapp_hash``; Intercom's and Novu's convention) or with a
signed, expiring user token (``notifier.inbox_tokens``); every query here is scoped to
that one user id.

Three independent marks, as Knock's and Novu's feeds have them: *seen* (the feed
showed it: the bell's badge), *read* (the user opened it) and *archived* (put away:
out of the default list and of every count, never deleted). Reading a message sees it
too, and unseeing one unreads it, so a read message is always a seen one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.errors import InvalidField, NotFound
from notifier.pagination import NUMERIC_CURSOR, decode_cursor, encode_cursor
from notifier.tables import Customer, InboxMessage


class Status(StrEnum):
    """The list's filter (``?status=``); left out: every message not archived."""

    unread = "unread"
    read = "read"
    unseen = "unseen"
    seen = "seen"
    archived = "archived"
    all = "all"


class Action(StrEnum):
    """What can be done to a message (``POST /api/v1/inbox/{id}/<action>``)."""

    seen = "seen"
    unseen = "unseen"
    read = "read"
    unread = "unread"
    archive = "archive"
    unarchive = "unarchive"


# The actions that apply to every message at once (``<action>-all``).
ALL_ACTIONS = (Action.seen, Action.read, Action.archive)


@dataclass(frozen=True)
class Counts:
    """The user's messages not archived: how many are unread, unseen, and in all."""

    unread: int
    unseen: int
    total: int


def authentic(inapp_secret: str, user_id: str, user_hash: str) -> bool:
    """Whether ``user_hash`` is the host application's proof of ``user_id``: the hex
    HMAC-SHA256 of the user id keyed by ``inapp_secret`` (as text; ``signing.inapp_secret``
    or ``FOREWARN_INBOX__SECRET``)."""
    if not user_id or not user_hash:
        return False
    expected = hmac.new(inapp_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), user_hash.strip().lower().encode())


def cursor_position(cursor: str) -> tuple[datetime, int]:
    """A cursor's (created_at, id); ``InvalidField`` when it was not one of ours."""
    if re.fullmatch(NUMERIC_CURSOR, cursor) is None:
        raise InvalidField("cursor", "not a cursor this API handed out")
    at, ident = decode_cursor(cursor)
    return at, int(ident)


def _filter(status: Status | None) -> ColumnElement[bool]:
    kept = InboxMessage.archived_at.is_(None)
    match status:
        case None:
            return kept
        case Status.unread:
            return and_(kept, InboxMessage.read_at.is_(None))
        case Status.read:
            return and_(kept, InboxMessage.read_at.is_not(None))
        case Status.unseen:
            return and_(kept, InboxMessage.seen_at.is_(None))
        case Status.seen:
            return and_(kept, InboxMessage.seen_at.is_not(None))
        case Status.archived:
            return InboxMessage.archived_at.is_not(None)
        case Status.all:
            return true()


async def page(
    session: AsyncSession,
    user_id: str,
    *,
    limit: int,
    cursor: str | None,
    status: Status | None = None,
) -> tuple[Sequence[InboxMessage], str | None]:
    """The user's messages in ``status`` (None: not archived), newest first, ``limit`` at
    a time, and the next page's cursor (None on the last). ``InvalidField`` naming
    ``cursor`` for a cursor not ours."""
    # Keyset on (created_at, id) like notifier.pagination, with an integer id:
    # PostgreSQL will not compare a bigint with the cursor's string.
    stmt = select(InboxMessage).where(InboxMessage.user_id == user_id, _filter(status))
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


async def counts(session: AsyncSession, user_id: str) -> Counts:
    """The user's ``Counts`` (archived messages are in none of them), in one query."""
    row = (
        await session.execute(
            select(
                func.count(case((InboxMessage.read_at.is_(None), 1))),
                func.count(case((InboxMessage.seen_at.is_(None), 1))),
                func.count(),
            ).where(InboxMessage.user_id == user_id, InboxMessage.archived_at.is_(None))
        )
    ).one()
    return Counts(unread=int(row[0]), unseen=int(row[1]), total=int(row[2]))


def _apply(message: InboxMessage, action: Action, now: datetime) -> None:
    match action:
        case Action.seen:
            message.seen_at = message.seen_at or now
        case Action.unseen:
            message.seen_at = message.read_at = None
        case Action.read:
            message.read_at = message.read_at or now
            message.seen_at = message.seen_at or now
        case Action.unread:
            message.read_at = None
        case Action.archive:
            message.archived_at = message.archived_at or now
        case Action.unarchive:
            message.archived_at = None


async def mark(
    session: AsyncSession,
    user_id: str,
    message_ids: Sequence[int],
    action: Action,
    *,
    now: datetime,
) -> list[InboxMessage]:
    """Do ``action`` to the user's messages ``message_ids``; they come back in that order.

    Idempotent: a mark already there keeps its first time. ``NotFound`` (and nothing
    changed) if any id is unknown or another user's: the same answer for both, so
    nothing can be probed.
    """
    wanted = list(dict.fromkeys(message_ids))
    found = {
        m.id: m
        for m in await session.scalars(
            select(InboxMessage).where(InboxMessage.id.in_(wanted), InboxMessage.user_id == user_id)
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound("inbox message", ", ".join(map(str, missing)))
    for message in found.values():
        _apply(message, action, now)
    await session.flush()
    return [found[i] for i in wanted]


async def mark_read(
    session: AsyncSession, user_id: str, message_id: int, *, now: datetime
) -> InboxMessage:
    """Mark one of the user's messages read (and seen); as ``mark``."""
    [message] = await mark(session, user_id, [message_id], Action.read, now=now)
    return message


async def mark_all(session: AsyncSession, user_id: str, action: Action, *, now: datetime) -> int:
    """Do ``action`` (one of ``ALL_ACTIONS``: seen, read, archive) to every message of the
    user that lacks it (archived ones included, for seen and read); how many changed."""
    column = {
        Action.seen: InboxMessage.seen_at,
        Action.read: InboxMessage.read_at,
        Action.archive: InboxMessage.archived_at,
    }[action]
    values: dict[str, Any] = {column.key: now}
    if action == Action.read:
        values["seen_at"] = func.coalesce(InboxMessage.seen_at, now)
    result = await session.execute(
        update(InboxMessage)
        .where(InboxMessage.user_id == user_id, column.is_(None))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_all_read(session: AsyncSession, user_id: str, *, now: datetime) -> int:
    """Mark every unread message of the user read; how many were unread."""
    return await mark_all(session, user_id, Action.read, now=now)


async def owner(session: AsyncSession, user_id: str) -> str | None:
    """The id of the customer whose in-app user id this is (None: none, or erased)."""
    return await session.scalar(
        select(Customer.id).where(Customer.inapp_user_id == user_id, Customer.erased_at.is_(None))
    )


def event(message: InboxMessage) -> dict[str, Any]:
    """A stored message in the shape the in-app channel publishes it live."""
    return {
        "id": message.id,
        "title": message.title,
        "body": message.body,
        "url": message.url,
        "created_at": message.created_at.isoformat(),
    }
