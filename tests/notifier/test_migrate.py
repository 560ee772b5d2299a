from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Boolean, Integer, String, column, insert, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import notifier.tables  # noqa: F401  (every table on the metadata)
from notifier import migrate
from notifier.db import Base, UTCDateTime, create_engine
from notifier.tables import Component
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


async def test_the_migration_gives_every_page_subscriber_an_external_id(
    engine: AsyncEngine,
) -> None:
    await migrate.upgrade(engine, "0004")
    # The table as revision 0004 has it, not as the models may have it later.
    customers = table(
        "customers",
        column("id", String),
        column("external_id", String),
        column("email", String),
        column("locale", String),
        column("time_zone", String),
        column("created_at", UTCDateTime),
        column("updated_at", UTCDateTime),
        column("erased_at", UTCDateTime),
    )
    at = datetime(2026, 11, 1, tzinfo=UTC)
    rows: list[dict[str, object]] = [
        {"id": "signedup1", "external_id": None, "email": "a@example.com", "erased_at": None},
        {"id": "signedup2", "external_id": None, "email": "b@example.com", "erased_at": None},
        {"id": "business1", "external_id": "crm-1", "email": "c@example.com", "erased_at": None},
        {"id": "erased1", "external_id": None, "email": None, "erased_at": at},
    ]
    async with engine.begin() as connection:
        await connection.execute(
            insert(customers),
            [
                row | {"locale": "en", "time_zone": "UTC", "created_at": at, "updated_at": at}
                for row in rows
            ],
        )

    await migrate.upgrade(engine)

    async with engine.connect() as connection:
        found = dict(
            (await connection.execute(select(customers.c.id, customers.c.external_id))).all()
        )
    assert found["business1"] == "crm-1"
    assert found["erased1"] is None
    page_ids = [found["signedup1"], found["signedup2"]]
    assert all(re.fullmatch(r"page_[0-9a-z]{20}", i or "") for i in page_ids), page_ids
    assert page_ids[0] != page_ids[1]


async def test_the_migration_splits_each_name_into_given_and_family(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine, "0010")
    # The table as revision 0010 has it: one name.
    before = table(
        "customers",
        column("id", String),
        column("name", String),
        column("locale", String),
        column("time_zone", String),
        column("created_at", UTCDateTime),
        column("updated_at", UTCDateTime),
    )
    at = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        ("yamada", "山田 太郎", "ja"),
        ("taro", "Taro Yamada", "en"),
        ("van", "Anna van der Berg", "en"),
        ("single", "Aiko", "ja"),
        ("blank", "   ", "en"),
        ("none", None, "en"),
    ]
    async with engine.begin() as connection:
        await connection.execute(
            insert(before),
            [
                {"id": i, "name": n, "locale": loc, "time_zone": "UTC", "created_at": at}
                | {"updated_at": at}
                for i, n, loc in rows
            ],
        )

    await migrate.upgrade(engine)

    after = table("customers", column("id", String), column("given_name"), column("family_name"))
    async with engine.connect() as connection:
        found = {
            r.id: (r.given_name, r.family_name)
            for r in await connection.execute(
                select(after.c.id, after.c.given_name, after.c.family_name)
            )
        }
    assert found == {
        "yamada": ("太郎", "山田"),
        "taro": ("Taro", "Yamada"),
        "van": ("Anna", "van der Berg"),
        "single": ("Aiko", None),
        "blank": (None, None),
        "none": (None, None),
    }
    # And back: one name, written in the locale's order.
    await downgrade(engine, "0010")
    async with engine.connect() as connection:
        names = dict((await connection.execute(select(before.c.id, before.c.name))).all())
    assert names["yamada"] == "山田 太郎"
    assert names["taro"] == "Taro Yamada"
    assert names["van"] == "Anna van der Berg"
    assert names["single"] == "Aiko"
    assert names["none"] is None


async def test_records_from_before_translations_keep_their_text_and_have_none(
    engine: AsyncEngine,
) -> None:
    await migrate.upgrade(engine, "0013")
    # The table as revision 0013 has it: no translations column yet.
    components = table(
        "components",
        column("id", String),
        column("name", String),
        column("description", String),
        column("position", Integer),
        column("status", String),
        column("visible", Boolean),
        column("only_show_if_degraded", Boolean),
        column("created_at", UTCDateTime),
        column("updated_at", UTCDateTime),
    )
    at = datetime(2026, 11, 1, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(components).values(
                id="comp1",
                name="Checkout API",
                description="",
                position=0,
                status="operational",
                visible=True,
                only_show_if_degraded=False,
                created_at=at,
                updated_at=at,
            )
        )

    await migrate.upgrade(engine)

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(Component.name, Component.translations).where(Component.id == "comp1")
            )
        ).one()
    assert tuple(row) == ("Checkout API", None)
    await downgrade(engine, "0013")
    async with engine.connect() as connection:
        names = await connection.scalars(select(components.c.name))
        assert list(names) == ["Checkout API"]
