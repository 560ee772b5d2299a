"""The dev outbox: instead of a provider, keep exactly what would have been sent, and read it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import utcnow
from notifier.delivery.channels.base import Content, Outcome, Recipient, Report, Sent, personalise
from notifier.delivery.sms_segments import segments
from notifier.statuses import ChannelName
from notifier.tables import OutboxMessage


class OutboxChannel:
    """The dev outbox in place of a provider (``name``: "email" or "sms") that is not configured."""

    def __init__(self, name: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.name = name
        self._sessions = sessions

    async def send(
        self, content: Content, recipients: Sequence[Recipient], report: Report | None = None
    ) -> list[Outcome]:
        """Store each recipient's personalised message in one transaction.

        -> one ``Sent`` per recipient, in order, with provider id ``outbox-<row id>`` and,
        for SMS, the segments a provider would bill. Database errors propagate.
        """
        # One write is the whole call: its outcomes are recorded from the returned list.
        now = utcnow()
        personal = [personalise(content, r) for r in recipients]
        rows = [
            {
                "delivery_id": r.delivery_id,
                "channel": self.name,
                "to": r.address,
                "subject": p.subject,
                "body": p.text,
                "html": p.html,
                "created_at": now,
            }
            for r, p in zip(recipients, personal, strict=True)
        ]
        async with self._sessions() as session, session.begin():
            ids = (
                await session.scalars(insert(OutboxMessage).returning(OutboxMessage.id), rows)
            ).all()
        return [
            Sent(
                provider_id=f"outbox-{message_id}",
                segments=segments(p.text) if self.name == ChannelName.sms else None,
            )
            for message_id, p in zip(ids, personal, strict=True)
        ]


async def latest(
    session: AsyncSession, *, limit: int = 100, channel: str | None = None
) -> Sequence[OutboxMessage]:
    """The outbox's newest ``limit`` messages, newest first; only ``channel``'s when given."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if channel is not None:
        stmt = stmt.where(OutboxMessage.channel == channel)
    return (await session.scalars(stmt)).all()


async def message(session: AsyncSession, message_id: int) -> OutboxMessage | None:
    """The outbox's message ``message_id``; None when there is none."""
    return await session.get(OutboxMessage, message_id)
