"""In-app messages: stored in the user's inbox and pushed live through Redis pub/sub."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
            await session.execute(insert_ignoring_duplicates(session, InboxMessage), rows)
            stored = await session.execute(
                select(InboxMessage.delivery_id, InboxMessage.id, InboxMessage.user_id).where(
                    InboxMessage.delivery_id.in_([r.delivery_id for r in recipients])
                )
            )
            ids = {delivery_id: (message_id, user) for delivery_id, message_id, user in stored}
        async with self._redis.pipeline(transaction=False) as pipe:
            for row in rows:
                message_id, user = ids[int(row["delivery_id"])]
                event = {
                    "user_id": user,
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
