"""Ops API keys: created once, shown once, stored as a SHA-256 hash, scoped."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.errors import InvalidField, NotFound
from notifier.tables import ApiKey

SCOPES = {
    "read": "Read every record.",
    "incidents:write": "Post incidents, maintenance and delivery problems.",
    "components:write": "Change components and component groups.",
    "customers:read": "Read customers (personal data).",
    "customers:write": "Create, change and erase customers.",
    "templates:write": "Override message templates and revert them to the built-ins.",
    "follow_ups:write": "Mark follow-ups of low ratings done (reading them takes customers:read).",
    "contacts:write": "Record customers' contacts with support (as a helpdesk does).",
    "admin": "Everything, including the audit log.",
}
KEY_PREFIX = "fw_"
# Writing last_used_at on every request would turn reads into writes.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(secret: str) -> str:
    """The hex SHA-256 of a key's secret (64 characters): what ``ApiKey.key_hash`` stores."""
    # The secret has 256 bits of entropy, so a plain SHA-256 is enough (no KDF needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def allows(key: ApiKey, scope: str) -> bool:
    """Whether ``key`` grants ``scope`` (one of ``SCOPES``); ``admin`` grants every scope."""
    return "admin" in key.scopes or scope in key.scopes


async def create_key(
    session: AsyncSession, name: str, scopes: Sequence[str], *, now: datetime
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret, which is never stored."""
    for index, scope in enumerate(scopes):
        if scope not in SCOPES:
            raise InvalidField(f"scopes[{index}]", f"unknown scope {scope!r}")
    if not scopes:
        raise InvalidField("scopes", "give at least one scope")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def authenticate(session: AsyncSession, secret: str, *, now: datetime) -> ApiKey | None:
    """The live key whose secret this is, or None when unknown or revoked.

    Also stamps ``last_used_at`` with ``now`` (UTC), at most once a minute, so that
    reads do not all become writes; the caller's transaction stores it.
    """
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    if key is None or key.revoked_at is not None:
        return None
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key


async def list_keys(session: AsyncSession) -> Sequence[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()


async def revoke_key(session: AsyncSession, ident: str, *, now: datetime) -> ApiKey:
    """Revoke by id or by the printed prefix."""
    key = await session.scalar(
        select(ApiKey).where(or_(ApiKey.id == ident, ApiKey.prefix == ident))
    )
    if key is None:
        raise NotFound("API key", ident)
    if key.revoked_at is None:
        key.revoked_at = now
    await session.flush()
    return key
