"""Reading the dev outbox: what would have been sent, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.tables import OutboxMessage


async def latest(
    session: AsyncSession, *, limit: int = 100, channel: str | None = None
) -> Sequence[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if channel is not None:
        stmt = stmt.where(OutboxMessage.channel == channel)
    return (await session.scalars(stmt)).all()
