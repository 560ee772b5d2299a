"""In-app messages: stored in the user's inbox and pushed live through Redis pub/sub."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import inbox_order
from notifier.db import utcnow
from notifier.delivery.channels.base import Content, Outcome, Recipient, Report, Sent, personalise
from notifier.delivery.fanout import insert_ignoring_duplicates
from notifier.statuses import ChannelName
from notifier.tables import InboxMessage

# Every web process subscribes and forwards to its own SSE clients.
INBOX_CHANNEL = "forewarn:inbox"


class InAppChannel:
    """The ``inapp`` channel: messages stored in each user's inbox and published on Redis for
    live inbox updates; delivered once stored."""

    name: str = ChannelName.inapp

    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        self._sessions = sessions
        self._redis = redis

    async def send(
        self, content: Content, recipients: Sequence[Recipient], report: Report | None = None
    ) -> list[Outcome]:
        """Store one inbox message per recipient (``address`` is the in-app user id) in one
        transaction, then publish each on ``INBOX_CHANNEL`` for the web processes' streams.

        -> one ``Sent(delivered=True)`` per recipient, in order; a delivery already stored
        keeps its first message. Database and Redis errors propagate (the batch is retried).
        Each published event names the message's predecessor (``prev``: the user's
        message just below it, or null) so that a stream can tell a gap.
        """
        # One write is the whole call: its outcomes are recorded from the returned list.
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for r in recipients:
            personal = personalise(content, r)
            rows.append(
                {
                    "delivery_id": r.delivery_id,
                    "user_id": r.address,
                    "title": personal.subject,
                    "body": personal.text,
                    "url": r.values.get("url", ""),
                    "created_at": now,
                }
            )
        async with self._sessions() as session, session.begin():
            # Ids in commit order per user, and each message's predecessor: the live
            # stream's replay depends on both (notifier.inbox_order).
            await inbox_order.lock_users(session, {str(row["user_id"]) for row in rows})
            await session.execute(insert_ignoring_duplicates(session, InboxMessage), rows)
            ids = await inbox_order.stored(session, [r.delivery_id for r in recipients])
        async with self._redis.pipeline(transaction=False) as pipe:
            for row in rows:
                message_id, user, previous = ids[int(row["delivery_id"])]
                event = {
                    "user_id": user,
                    "prev": previous,
                    "message": {
                        "id": message_id,
                        "title": row["title"],
                        "body": row["body"],
                        "url": row["url"],
                        "created_at": now.isoformat(),
                    },
                }
                pipe.publish(INBOX_CHANNEL, json.dumps(event))
            await pipe.execute()
        return [
            Sent(provider_id=f"inbox-{ids[r.delivery_id][0]}", delivered=True) for r in recipients
        ]
