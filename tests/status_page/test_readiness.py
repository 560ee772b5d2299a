"""``/readyz`` (``status_page/readiness.py``): ready when the database and Redis answer
and the schema is migrated; a 503 problem naming what failed otherwise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from pytest_aiohttp import AiohttpClient
from sqlalchemy import text

from notifier import migrate
from notifier.db import create_engine
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.databases import empty_database


async def test_it_is_ready_on_a_migrated_database(client: Client) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "migrations": "ok"},
    }


async def test_healthz_says_the_process_is_alive_even_when_the_database_is_not_there(
    aiohttp_client: AiohttpClient, tmp_path: Path, redis_url: str
) -> None:
    gone = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    client = await aiohttp_client(create_app(make_settings(gone, redis_url)))
    alive = await client.get("/healthz")
    assert alive.status == 200
    assert await alive.json() == {"status": "ok"}
    assert (await client.get("/readyz")).status == 503


async def test_it_is_not_ready_on_an_unmigrated_database(
    aiohttp_client: AiohttpClient, tmp_path: Path, redis_url: str
) -> None:
    async with empty_database(tmp_path, "unmigrated") as url:
        client = await aiohttp_client(create_app(make_settings(url, redis_url)))
        problem = await _problem_of(client)
        assert problem["checks"] == {
            "database": "ok",
            "redis": "ok",
            "migrations": "lacks migrations: run `forewarn migrate`",
        }
        assert "migrations" in problem["detail"]
        await client.close()


async def test_it_is_not_ready_on_a_database_one_migration_behind(
    aiohttp_client: AiohttpClient, tmp_path: Path, redis_url: str
) -> None:
    async with empty_database(tmp_path, "behind") as url:
        engine = create_engine(url)
        await migrate.upgrade(engine, _before_head())
        await engine.dispose()
        client = await aiohttp_client(create_app(make_settings(url, redis_url)))
        problem = await _problem_of(client)
        assert problem["checks"]["migrations"] == "lacks migrations: run `forewarn migrate`"
        await client.close()


async def test_a_newer_release_s_migration_does_not_make_it_unready(
    aiohttp_client: AiohttpClient, tmp_path: Path, redis_url: str
) -> None:
    # During a rolling deploy the new release migrates first; the old processes serve on.
    async with empty_database(tmp_path, "ahead") as url:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
        await engine.dispose()
        client = await aiohttp_client(create_app(make_settings(url, redis_url)))
        response = await client.get("/readyz")
        assert response.status == 200
        await client.close()


async def test_it_is_not_ready_when_redis_is_unreachable(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str
) -> None:
    async with _proxy(redis_url) as (proxied_url, cut):
        client = await aiohttp_client(create_app(make_settings(database_url, proxied_url)))
        assert (await client.get("/readyz")).status == 200
        await cut()
        problem = await _problem_of(client)
        assert problem["checks"]["database"] == "ok"
        assert problem["checks"]["migrations"] == "ok"
        assert problem["checks"]["redis"].startswith("did not answer")
        assert problem["detail"].startswith("not ready: redis did not answer")
        await client.close()


async def test_it_is_not_ready_when_the_database_is_unreachable(
    aiohttp_client: AiohttpClient, tmp_path: Path, redis_url: str
) -> None:
    # A SQLite file in a folder that does not exist: nothing answers (on either engine).
    url = f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'forewarn.db'}"
    client = await aiohttp_client(create_app(make_settings(url, redis_url)))
    problem = await _problem_of(client)
    assert problem["checks"] == {
        "database": "did not answer (OperationalError)",
        "redis": "ok",
        "migrations": "not checked",
    }


def _before_head() -> str:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    head = scripts.get_revision("head")
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision


async def _problem_of(client: Client) -> dict[str, Any]:
    """The 503 problem ``/readyz`` answers, checked for RFC 9457's members."""
    response = await client.get("/readyz")
    assert response.status == 503
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json(content_type=None)
    assert problem["status"] == 503
    assert problem["title"] == "Service Unavailable"
    assert problem["instance"] == "/readyz"
    return problem


@contextlib.asynccontextmanager
async def _proxy(redis_url: str) -> AsyncIterator[tuple[str, Any]]:
    """A TCP port on 127.0.0.1 that forwards to ``redis_url`` until ``cut()`` closes it
    and every connection through it: Redis becomes unreachable to whoever used it."""
    target = urlsplit(redis_url)
    streams: list[asyncio.StreamWriter] = []

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if target.scheme == "unix":
            upstream = await asyncio.open_unix_connection(target.path)
        else:
            upstream = await asyncio.open_connection(target.hostname, target.port or 6379)
        streams.extend([writer, upstream[1]])
        await asyncio.gather(forward(reader, upstream[1]), forward(upstream[0], writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = (target.path.strip("/") or "0") if target.scheme != "unix" else "0"
    if target.scheme == "unix" and "db=" in target.query:
        db = target.query.split("db=")[1].split("&")[0]

    async def cut() -> None:
        server.close()
        for writer in streams:
            writer.close()
        await server.wait_closed()

    try:
        yield f"redis://127.0.0.1:{port}/{db}", cut
    finally:
        await cut()
