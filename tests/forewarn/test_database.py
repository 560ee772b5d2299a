"""Whether the database is there, reachable and migrated before a command uses it
(``forewarn/database.py``): each case is one line, and a missing SQLite file is never
created by asking."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from notifier.db import create_engine
from tests.databases import empty_database
from tests.forewarn.command import Forewarn, environment, free_port


async def test_web_refuses_an_unmigrated_database(forewarn: Forewarn, tmp_path: Path) -> None:
    async with empty_database(tmp_path, "forewarn_cli_test") as url:
        engine = create_engine(url)
        async with engine.connect() as connection:  # SQLite: an empty file, not none
            await connection.execute(text("SELECT 1"))
        await engine.dispose()
        result = await forewarn.run(
            "web", "--port", str(free_port()), env=environment(FOREWARN_DATABASE_URL=url)
        )

    assert result.returncode == 1
    assert "forewarn: the database is not migrated; run `forewarn migrate`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["api-key", "list"],
        ["outbox"],
        ["api-key", "create", "--name", "x", "--scope", "read"],
        ["api-key", "revoke", "fw_nothing"],
        ["web", "--port", "0"],
        ["worker"],
    ],
    ids=" ".join,
)
async def test_a_folder_with_no_database_is_one_line_and_stays_empty(
    forewarn: Forewarn, command: list[str]
) -> None:
    result = await forewarn.run(*command, env=environment())

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "forewarn: no database at forewarn.db: run `forewarn migrate` (or `forewarn run`) "
        "here first, or set FOREWARN_DATABASE_URL"
    ]
    assert result.stdout == ""
    assert list(forewarn.cwd.iterdir()) == []


async def test_an_unreachable_database_is_one_line(forewarn: Forewarn) -> None:
    nobody = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/forewarn"

    result = await forewarn.run("api-key", "list", env=environment(FOREWARN_DATABASE_URL=nobody))

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["forewarn: cannot open the database: Connection refused"]
