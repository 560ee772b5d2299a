"""Ops API keys: the secret is shown once and stored only as its hash; scopes are checked;
a revoked key no longer opens anything; use is stamped at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import api_keys
from notifier.db import utcnow
from notifier.errors import InvalidField, NotFound

Sessions = async_sessionmaker[AsyncSession]


async def test_a_key_is_stored_as_the_hash_of_its_secret_and_opens_with_it(
    sessions: Sessions,
) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        key, secret = await api_keys.create_key(session, "deploy bot", ["read", "read"], now=now)
    assert secret.startswith("fw_")
    assert (key.prefix, key.scopes) == (secret[:10], ["read"])
    assert key.key_hash == api_keys.hash_key(secret) != secret
    async with sessions() as session, session.begin():
        found = await api_keys.authenticate(session, secret, now=now)
        assert found is not None
        assert found.id == key.id
        assert await api_keys.authenticate(session, secret + "x", now=now) is None


async def test_admin_grants_every_scope_and_others_only_their_own(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        reader, _ = await api_keys.create_key(session, "reader", ["read"], now=utcnow())
        admin, _ = await api_keys.create_key(session, "ops", ["admin"], now=utcnow())
    assert api_keys.allows(reader, "read")
    assert not api_keys.allows(reader, "customers:read")
    assert all(api_keys.allows(admin, scope) for scope in api_keys.SCOPES)


async def test_an_unknown_scope_or_none_at_all_is_refused(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidField) as unknown:
            await api_keys.create_key(session, "x", ["read", "write"], now=utcnow())
        with pytest.raises(InvalidField) as empty:
            await api_keys.create_key(session, "x", [], now=utcnow())
    assert (unknown.value.field, empty.value.field) == ("scopes[1]", "scopes")


async def test_a_revoked_key_opens_nothing(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        key, secret = await api_keys.create_key(session, "old", ["read"], now=utcnow())
        revoked = await api_keys.revoke_key(session, key.prefix, now=utcnow())
        assert revoked.revoked_at is not None
        assert await api_keys.authenticate(session, secret, now=utcnow()) is None
        with pytest.raises(NotFound):
            await api_keys.revoke_key(session, "fw_nothing", now=utcnow())


async def test_use_is_stamped_at_most_once_a_minute(sessions: Sessions) -> None:
    first = utcnow()
    async with sessions() as session, session.begin():
        key, secret = await api_keys.create_key(session, "bot", ["read"], now=first)
        await api_keys.authenticate(session, secret, now=first)
        await api_keys.authenticate(session, secret, now=first + timedelta(seconds=30))
        assert key.last_used_at == first
        await api_keys.authenticate(session, secret, now=first + timedelta(seconds=61))
        assert key.last_used_at == first + timedelta(seconds=61)
