"""Inbox message ids in commit order per user, and each message's predecessor.

The live stream and its replay (``status_page.inbox_stream``) rely on one rule:

    For one user, a message with a higher id was committed after every message
    with a lower id.

So a client that has seen id X can be given "every message of the user with id > X"
and nothing is missing, whatever order concurrent senders ran in. It holds because
every transaction that stores inbox messages for a user holds that user's lock from
before its INSERT until its COMMIT (``lock_users``), and ids come from one counter
that only grows (PostgreSQL's ``bigserial`` sequence, with the default cache of 1;
SQLite's rowid, assigned under its single write lock). Proof: of two transactions
storing messages for user u, the second to take u's lock draws its ids after the first
committed, so its ids are higher and its commit later. Without the lock, PostgreSQL
drew ids in one order and committed them in another (issue 16: 4 inversions in 164
events).

Published live, each message names its predecessor (``predecessors``: the user's
message just below it). Pub/sub may still deliver two messages out of order, or lose
one; a stream that gets a message whose predecessor it has not sent knows it has a
gap and reads ``id > last sent`` from the database, which by the rule is complete.

The lock is PostgreSQL's transaction-level advisory lock, on one of
``LOCK_BUCKETS`` keys the user id hashes to (taken in key order: no deadlock, and a
batch of thousands of users takes at most ``LOCK_BUCKETS`` locks, not one each).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from notifier.tables import InboxMessage

# pg_advisory_xact_lock(int4, int4): the first key names what is locked here.
LOCK_NAMESPACE = 0x1B0C
LOCK_BUCKETS = 16


def bucket(user_id: str) -> int:
    """The lock key (0 to ``LOCK_BUCKETS`` - 1) of a user id; the same in every process."""
    return zlib.crc32(user_id.encode()) % LOCK_BUCKETS


async def lock_users(session: AsyncSession, user_ids: Iterable[str]) -> None:
    """Hold the inbox lock of each user until the session's transaction ends.

    Call it inside the transaction, before inserting inbox messages. On SQLite it does
    nothing: one writer at a time already holds the database from its first write to
    its commit.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({bucket(u) for u in user_ids}):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
            {"namespace": LOCK_NAMESPACE, "key": key},
        )


async def stored(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> dict[int, tuple[int, str, int | None]]:
    """delivery id -> (message id, user id, predecessor id or None) of the messages of
    these deliveries. Run it in the storing transaction, after ``lock_users``: then each
    predecessor is final (no message of the user can commit below it any more).
    """
    before = aliased(InboxMessage)
    previous = (
        select(func.max(before.id))
        .where(before.user_id == InboxMessage.user_id, before.id < InboxMessage.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(InboxMessage.delivery_id, InboxMessage.id, InboxMessage.user_id, previous).where(
            InboxMessage.delivery_id.in_(delivery_ids)
        )
    )
    return {delivery_id: (ident, user, prev) for delivery_id, ident, user, prev in rows}


async def after(
    session: AsyncSession, user_id: str, after_id: int, *, limit: int
) -> Sequence[InboxMessage]:
    """The user's first ``limit`` messages with an id above ``after_id``, oldest first: a
    page of a stream's catch-up (the next page starts after the last id of this one)."""
    stmt = (
        select(InboxMessage)
        .where(InboxMessage.user_id == user_id, InboxMessage.id > after_id)
        .order_by(InboxMessage.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()
