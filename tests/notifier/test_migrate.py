from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import notifier.tables  # noqa: F401  (every table on the metadata)
from notifier import migrate
from notifier.db import Base, create_engine
from tests.databases import empty_database

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database (a fresh file, or a fresh PostgreSQL database)."""
    async with empty_database(tmp_path, "forewarn_migrate_test") as url:
        engine = create_engine(url)
        yield engine
        await engine.dispose()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.downgrade(migrate.alembic_config(sync), revision)
        )


def schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_it_upgrades_an_empty_database_to_head(engine: AsyncEngine) -> None:
    assert await table_names(engine) == set()
    assert not await migrate.is_current(engine)

    await migrate.upgrade(engine)

    assert await migrate.is_current(engine)
    assert await table_names(engine) == MODEL_TABLES | {"alembic_version"}


async def test_upgrading_a_current_database_changes_nothing(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)
    await migrate.upgrade(engine)

    assert await migrate.is_current(engine)


async def test_the_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)

    async with engine.connect() as connection:
        differences = await connection.run_sync(schema_differences)

    # Not empty means a model changed without a migration: write one with alembic revision.
    assert differences == []


async def test_it_downgrades_to_base_and_upgrades_again(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)

    await downgrade(engine, "base")

    assert await table_names(engine) <= {"alembic_version"}
    assert not await migrate.is_current(engine)

    await migrate.upgrade(engine)

    assert await migrate.is_current(engine)
    assert await table_names(engine) == MODEL_TABLES | {"alembic_version"}


async def test_every_migration_steps_down_and_up_again(engine: AsyncEngine) -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [script.revision for script in scripts.walk_revisions()]  # newest first
    await migrate.upgrade(engine)

    for revision in revisions:
        await downgrade(engine, "-1")
        await migrate.upgrade(engine, revision)
        await downgrade(engine, "-1")

    assert await table_names(engine) <= {"alembic_version"}
    await migrate.upgrade(engine)
    assert await migrate.is_current(engine)
