"""An empty, unmigrated database on the engine under test, for migration and CLI tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from notifier.db import create_engine
from tests.conftest import PG_URL


@asynccontextmanager
async def empty_database(directory: Path, name: str) -> AsyncIterator[str]:
    """A fresh SQLite file in ``directory``, or a PostgreSQL database named after ``name``
    on the server of FOREWARN_TEST_DATABASE_URL, created for the block and dropped after.

    The PostgreSQL name gets a random suffix: test runs sharing a server never meet.
    """
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
        return
    name = f"{name}_{secrets.token_hex(4)}"
    server = make_url(PG_URL)
    admin = create_engine(
        server.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
