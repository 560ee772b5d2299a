"""Idempotency-Key records: one response per (API key, Idempotency-Key), found again on a
retry, a second one refused by the database, old ones pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import api_keys, idempotency
from notifier.db import utcnow

Sessions = async_sessionmaker[AsyncSession]


def test_the_request_hash_covers_method_path_and_body() -> None:
    first = idempotency.request_hash("POST", "/api/v1/incidents", b'{"title": "x"}')
    assert len(first) == 64
    assert first == idempotency.request_hash("POST", "/api/v1/incidents", b'{"title": "x"}')
    assert first != idempotency.request_hash("POST", "/api/v1/incidents", b'{"title": "y"}')
    assert first != idempotency.request_hash("POST", "/api/v1/maintenance", b'{"title": "x"}')
    assert first != idempotency.request_hash("PUT", "/api/v1/incidents", b'{"title": "x"}')


async def key_id(sessions: Sessions, name: str = "bot") -> str:
    async with sessions() as session, session.begin():
        key, _ = await api_keys.create_key(session, name, ["admin"], now=utcnow())
    return key.id


async def remember(sessions: Sessions, api_key_id: str, key: str, **when: timedelta) -> None:
    async with sessions() as session, session.begin():
        idempotency.remember(
            session,
            api_key_id,
            key,
            request="h",
            status=201,
            body='{"id": "1"}',
            now=utcnow() - when.get("ago", timedelta()),
        )


async def test_the_first_response_is_found_again_under_its_key(sessions: Sessions) -> None:
    bot, other = await key_id(sessions), await key_id(sessions, "other")
    await remember(sessions, bot, "k-1")
    async with sessions() as session:
        found = await idempotency.find(session, bot, "k-1")
        assert found is not None
        assert (found.status, found.body) == (201, '{"id": "1"}')
        # Keys are per API key: another client's k-1 is its own.
        assert await idempotency.find(session, other, "k-1") is None
    with pytest.raises(IntegrityError):
        await remember(sessions, bot, "k-1")


async def test_old_records_are_pruned(sessions: Sessions) -> None:
    bot = await key_id(sessions)
    await remember(sessions, bot, "old", ago=timedelta(hours=25))
    await remember(sessions, bot, "new")
    async with sessions() as session, session.begin():
        pruned = await idempotency.prune(session, older_than=timedelta(hours=24), now=utcnow())
    assert pruned == 1
    async with sessions() as session:
        assert await idempotency.find(session, bot, "old") is None
        assert await idempotency.find(session, bot, "new") is not None
