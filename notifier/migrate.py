"""Alembic upgrades from code, on the application's own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for ``notifier/migrations``, running on ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default the newest) in one transaction."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return current == head


async def behind(engine: AsyncEngine) -> bool:
    """True when the database lacks a migration of this release: none applied yet, or an
    older revision than the newest. A revision this release does not know counts as not
    behind: a newer release's ``migrate`` ran first, and this process is about to be
    replaced (were it refused, a rolling deploy would take every old process out at once).
    """
    scripts = ScriptDirectory.from_config(alembic_config())
    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    if current is None:
        return True
    known = {script.revision for script in scripts.walk_revisions()}
    return current in known and current != scripts.get_current_head()
