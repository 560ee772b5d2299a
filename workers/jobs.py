"""Job functions; each is a thin call into ``notifier`` inside one transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import idempotency, maintenance
from notifier.db import utcnow

Ctx = dict[str, Any]


def _sessions(ctx: Ctx) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    return sessions


async def maintenance_tick(ctx: Ctx) -> tuple[int, int]:
    """Start and complete maintenance whose window opened or closed."""
    async with _sessions(ctx)() as session, session.begin():
        return await maintenance.auto_transition(session, now=utcnow())


async def prune_idempotency(ctx: Ctx) -> int:
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as session, session.begin():
        return await idempotency.prune(
            session, older_than=timedelta(hours=settings.idempotency_ttl_hours), now=utcnow()
        )
