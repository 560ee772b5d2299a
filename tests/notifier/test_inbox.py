from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import inbox, signing
from notifier.db import utcnow
from notifier.errors import InvalidField, NotFound
from notifier.pagination import encode_cursor
from tests.inapp import deliver

Sessions = async_sessionmaker[AsyncSession]
SECRET = "test-secret-key-not-for-production"


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def titles_of(sessions: Sessions, user_id: str, limit: int = 100) -> list[str]:
    async with sessions() as session:
        rows, _ = await inbox.page(session, user_id, limit=limit, cursor=None)
    return [row.title for row in rows]


def test_it_accepts_only_the_hash_of_that_user() -> None:
    key = signing.inapp_secret(SECRET)
    proof = signing.inapp_hash(SECRET, "user-1")
    assert inbox.authentic(key, "user-1", proof)
    assert inbox.authentic(key, "user-1", proof.upper())
    assert not inbox.authentic(key, "user-2", proof)
    assert not inbox.authentic(SECRET, "user-1", proof)  # the secret key is not the key
    assert not inbox.authentic(signing.inapp_secret("another secret"), "user-1", proof)
    assert not inbox.authentic(key, "user-1", "")
    assert not inbox.authentic(key, "", signing.inapp_hash(SECRET, ""))
    assert not inbox.authentic(key, "user-1", "é" * 64)


async def test_it_lists_a_users_messages_newest_first_in_pages(
    sessions: Sessions, redis: Redis
) -> None:
    await deliver(sessions, redis, "user-1", "one", "two", "three")
    await deliver(sessions, redis, "user-1", "four", "five")
    await deliver(sessions, redis, "user-2", "not yours")

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        async with sessions() as session:
            rows, cursor = await inbox.page(session, "user-1", limit=2, cursor=cursor)
        seen += [row.title for row in rows]
        pages += 1
        if cursor is None:
            break
    # Messages of one batch share created_at; the id orders them.
    assert seen == ["five", "four", "three", "two", "one"]
    assert pages == 3


async def test_a_cursor_that_is_not_ours_is_an_invalid_field(sessions: Sessions) -> None:
    async with sessions() as session:
        for bad in ("nonsense", encode_cursor(utcnow(), "not-a-number")):
            with pytest.raises(InvalidField) as raised:
                await inbox.page(session, "user-1", limit=2, cursor=bad)
            assert raised.value.field == "cursor"


async def test_it_counts_unread_and_marks_one_read_once(sessions: Sessions, redis: Redis) -> None:
    first, second = await deliver(sessions, redis, "user-1", "one", "two")
    now = utcnow()
    async with sessions() as session, session.begin():
        assert (await inbox.counts(session, "user-1")).unread == 2
        message = await inbox.mark_read(session, "user-1", first, now=now)
        assert message.read_at == now
    async with sessions() as session, session.begin():
        again = await inbox.mark_read(session, "user-1", first, now=now + timedelta(hours=1))
        assert again.read_at == now
        assert (await inbox.counts(session, "user-1")).unread == 1
        rows, _ = await inbox.page(session, "user-1", limit=10, cursor=None)
    assert [(row.id, row.read_at) for row in rows] == [(second, None), (first, now)]


async def test_it_does_not_mark_another_users_message(sessions: Sessions, redis: Redis) -> None:
    [theirs] = await deliver(sessions, redis, "user-2", "theirs")
    async with sessions() as session, session.begin():
        with pytest.raises(NotFound):
            await inbox.mark_read(session, "user-1", theirs, now=utcnow())
        with pytest.raises(NotFound):
            await inbox.mark_read(session, "user-1", theirs + 1000, now=utcnow())
    async with sessions() as session:
        assert (await inbox.counts(session, "user-2")).unread == 1


async def test_mark_all_read_touches_only_that_user(sessions: Sessions, redis: Redis) -> None:
    await deliver(sessions, redis, "user-1", "one", "two", "three")
    await deliver(sessions, redis, "user-2", "theirs")
    async with sessions() as session, session.begin():
        assert await inbox.mark_all_read(session, "user-1", now=utcnow()) == 3
    async with sessions() as session, session.begin():
        assert await inbox.mark_all_read(session, "user-1", now=utcnow()) == 0
        assert (await inbox.counts(session, "user-1")).unread == 0
        assert (await inbox.counts(session, "user-2")).unread == 1


async def test_an_empty_inbox(sessions: Sessions) -> None:
    assert await titles_of(sessions, "nobody") == []
    async with sessions() as session:
        assert (await inbox.counts(session, "nobody")).unread == 0
