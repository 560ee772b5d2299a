"""Fixtures for the tests of the ``forewarn`` command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.forewarn.command import Forewarn, environment


@pytest.fixture
async def forewarn(tmp_path: Path) -> AsyncIterator[Forewarn]:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    processes = Forewarn(cwd.resolve())
    yield processes
    await processes.close()


@pytest.fixture
def env(database_url: str, redis_url: str) -> dict[str, str]:
    return environment(FOREWARN_DATABASE_URL=database_url, FOREWARN_REDIS_URL=redis_url)
