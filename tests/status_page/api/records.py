"""Helpers for ops API tests: what the database holds, to show a refused request
changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import Base

Sessions = async_sessionmaker[AsyncSession]


async def count_rows(sessions: Sessions, table: type[Any]) -> int:
    """How many rows the table of a mapped class holds."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def rows_by_table(sessions: Sessions) -> dict[str, int]:
    """Rows in every table but the API keys (whose last use is recorded)."""
    async with sessions() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
            if table.name != "api_keys"
        }
