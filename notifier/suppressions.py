"""Suppressions that outlive an erased customer: kept as a keyed hash, re-armed on return.

A suppression (a bounce, a spam report, an SMS STOP) exists so that we never send
to that address again; GDPR Art. 17(3)(b) and 21(3) let a controller keep what it
needs to honour an objection, and no more. So erasing a customer does not drop
their suppressions: it replaces each address by ``digest(secret, channel,
address)``, an HMAC-SHA256 keyed by ``FOREWARN_SECRET_KEY`` (purpose
``suppression``), from which the address cannot be read back, nor guessed by
hashing a list of phone numbers without the key.

The send path compares plain addresses (``delivery/sending.py``), so a digest
suppresses nothing by itself: whenever an address comes into the records again
(an ops API PUT, a sign-up on the page) ``rearm`` turns a digest of it back into
the plain suppression, with its reason and date. A sign-up that confirms still
lifts an ``unsubscribe`` suppression (they asked to come back); a bounce or STOP
stands. Changing the secret key orphans the digests (a returning address is
then no longer suppressed): rotate it knowing that.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import signing
from notifier.tables import Suppression

DIGEST_PREFIX = "hmac-sha256:"
_PURPOSE = "suppression"


def digest(secret: str, channel: str, address: str) -> str:
    """What an erased customer's suppression keeps instead of ``address``:
    ``"hmac-sha256:"`` and 64 hex digits, keyed per channel (76 characters)."""
    return DIGEST_PREFIX + signing.mac(secret, _PURPOSE, f"{channel}:{address}").hex()


async def forget(session: AsyncSession, secret: str, addresses: Iterable[tuple[str, str]]) -> int:
    """Replace the suppressions of these (channel, address) pairs by their digests;
    returns how many were replaced. A digest already there (the address was erased
    before) is kept as it was: first reason, first date."""
    replaced = 0
    for channel, address in addresses:
        row = await session.scalar(
            select(Suppression).where(
                Suppression.channel == channel, Suppression.address == address
            )
        )
        if row is None:
            continue
        hashed = digest(secret, channel, address)
        existing = await session.scalar(
            select(Suppression.id).where(
                Suppression.channel == channel, Suppression.address == hashed
            )
        )
        if existing is None:
            row.address = hashed
        else:
            await session.delete(row)
        replaced += 1
    await session.flush()
    return replaced


async def rearm(session: AsyncSession, secret: str, channel: str, address: str) -> bool:
    """If ``address`` was suppressed on ``channel`` before its customer was erased, make
    that suppression plain again (same reason and date); True if one was re-armed.

    Safe against concurrent writers of the same address (two PUTs bringing it back, a
    bounce arriving meanwhile): the plain row is written with INSERT ... ON CONFLICT DO
    NOTHING, which waits for a concurrent one and keeps it (suppressed again since: that
    row stands), and the digest row is then deleted, a no-op if another did it first. An
    UPDATE of the digest row would raise a unique-key error instead.
    """
    hashed = digest(secret, channel, address)
    found = (
        await session.execute(
            select(Suppression.id, Suppression.reason, Suppression.created_at).where(
                Suppression.channel == channel, Suppression.address == hashed
            )
        )
    ).first()
    if found is None:
        return False
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(Suppression)
        .values(channel=channel, address=address, reason=found.reason, created_at=found.created_at)
        .on_conflict_do_nothing(index_elements=[Suppression.channel, Suppression.address])
    )
    await session.execute(delete(Suppression).where(Suppression.id == found.id))
    return True
