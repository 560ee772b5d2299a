"""The ``forewarn`` commands that read or change records (not processes): the dev
outbox, ops API keys, and deliveries parked because a provider refused our credentials.
Each takes the settings and the parsed arguments and returns the exit status."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from forewarn import database
from notifier import api_keys
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery import parking
from notifier.delivery.channels import outbox as dev_outbox


async def show_outbox(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn outbox [--limit N] [--channel C]``: the dev outbox, newest first."""
    async with _session(settings) as session:
        messages = await dev_outbox.latest(session, limit=args.limit, channel=args.channel)
        for m in messages:
            when = m.created_at.isoformat(timespec="seconds")
            print(f"--- #{m.id} {m.channel} to {m.to} at {when}")
            if m.subject:
                print(f"Subject: {m.subject}")
            print(m.body, end="\n\n")
    if not messages:
        print("the dev outbox is empty")
    return 0


async def key_create(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn api-key create``: the new key is printed once, alone on the last line."""
    async with _session(settings) as session:
        key, secret = await api_keys.create_key(session, args.name, args.scope, now=utcnow())
        print(f"created API key {key.id} ({key.prefix}...) with scopes {', '.join(key.scopes)}")
        print("store it now; it is not shown again:")
    print(secret)
    return 0


async def key_list(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn api-key list``: every key, never its secret."""
    async with _session(settings) as session:
        for key in await api_keys.list_keys(session):
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            print(
                f"{key.id}  {key.prefix}...  {state:7}  {key.name}  "
                f"[{' '.join(key.scopes)}]  last used {used}"
            )
    return 0


async def key_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn api-key revoke ID_OR_PREFIX``; raises ``NotFound`` for an unknown key."""
    async with _session(settings) as session:
        key = await api_keys.revoke_key(session, args.key, now=utcnow())
        print(f"revoked API key {key.id} ({key.name})")
    return 0


async def deliveries_parked(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn deliveries parked``: parked deliveries by channel."""
    async with _session(settings) as session:
        found = await parking.counts(session)
    for channel, count in sorted(found.items()):
        print(f"{channel}: {count} parked")
    if not found:
        print("no deliveries are parked")
    return 0


async def deliveries_resume(settings: Settings, args: argparse.Namespace) -> int:
    """``forewarn deliveries resume [--channel C]``: parked deliveries back to the worker."""
    async with _session(settings) as session:
        resumed = await parking.resume(
            session, settings.delivery, now=utcnow(), channel=args.channel
        )
    for channel, count in sorted(resumed.items()):
        print(f"{channel}: {count} resumed")
    if resumed:
        print("the worker sends them within a minute; any past the delivery deadline fail")
    else:
        print("no deliveries are parked")
    return 0


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A transaction on the existing, migrated database (never an empty new SQLite file)."""
    await database.check(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()
