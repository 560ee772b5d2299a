"""Recording what became of each delivery, as it happens.

Outcomes are written as each provider call returns, not once a batch is done: a worker
killed mid-batch leaves unrecorded only the calls it had in flight, and those are all
that can go out twice (design.md). One writer per worker takes whatever outcomes and
claim renewals arrived while it wrote the last ones and writes them in one transaction
(group commit), so recording a call costs no transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import DeliverySettings
from notifier.channels.base import DeliveryError, Outcome, Sent
from notifier.db import among, utcnow
from notifier.fanout import insert_ignoring_duplicates
from notifier.tables import Delivery, Suppression

log = logging.getLogger(__name__)
DELIVERIES = cast(Table, Delivery.__table__)
MAX_BACKOFF_SECONDS = 900.0


@dataclass(frozen=True)
class Claimed:
    """A delivery row this worker claimed: what recording its outcome needs."""

    id: int
    channel: str
    attempts: int
    created_at: datetime


@dataclass
class _Write:
    changes: list[dict[str, Any]]
    suppressions: list[dict[str, Any]]
    renewals: list[int]
    done: asyncio.Future[None]


class Recorder:
    """The one writer of a worker's delivery outcomes and claim renewals."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: DeliverySettings,
        *,
        postgres: bool,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._postgres = postgres
        self._queue: list[_Write] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, items: Sequence[tuple[Claimed, Outcome, str]]) -> list[dict[str, Any]]:
        """Write the outcomes of (row, outcome, address) and any suppression they call
        for; returns once committed, with each row's new state (see ``change``)."""
        now = utcnow()
        changes = [change(row, outcome, now, self._settings) for row, outcome, _ in items]
        suppressions = [
            {"channel": row.channel, "address": to, "reason": outcome.suppress, "created_at": now}
            for row, outcome, to in items
            if isinstance(outcome, DeliveryError) and outcome.suppress and to
        ]
        await self._submit(_Write(changes, suppressions, [], self._future()))
        return changes

    async def renew(self, ids: Sequence[int]) -> None:
        """Renew this worker's claims on ``ids`` (those still being sent)."""
        await self._submit(_Write([], [], list(ids), self._future()))

    @staticmethod
    def _future() -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, write: _Write) -> None:
        self._queue.append(write)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        # A caller cancelled here leaves its write queued: it is written all the same.
        await write.done

    async def _write_all(self) -> None:
        while self._queue:
            taken, self._queue = self._queue, []
            try:
                await self._write(taken)
            except Exception as exc:  # every waiter hears of it
                for write in taken:
                    if not write.done.done():
                        write.done.set_exception(exc)
            else:
                for write in taken:
                    if not write.done.done():
                        write.done.set_result(None)

    async def _write(self, taken: list[_Write]) -> None:
        changes = sorted((c for w in taken for c in w.changes), key=lambda c: int(c["id"]))
        changed = {c["id"] for c in changes}
        renewals = sorted({i for w in taken for i in w.renewals} - changed)
        suppressions = [s for w in taken for s in w.suppressions]
        async with self._sessions() as session, session.begin():
            if renewals:
                await session.execute(
                    update(DELIVERIES)
                    .where(
                        among(DELIVERIES.c.id, renewals, postgres=self._postgres),
                        DELIVERIES.c.status == "sending",
                    )
                    .values(claimed_at=utcnow())
                )
            if changes:
                await _apply(session, changes, postgres=self._postgres)
            if suppressions:
                await session.execute(
                    insert_ignoring_duplicates(session, Suppression), suppressions
                )


def change(
    row: Claimed, outcome: Outcome, now: datetime, settings: DeliverySettings
) -> dict[str, Any]:
    """The row's new state; every key always present (see ``_apply``)."""
    new: dict[str, Any] = {
        "id": row.id,
        "status": "sent",
        "provider_id": None,
        "segments": None,
        "last_error": None,
        "sent_at": None,
        "delivered_at": None,
        "next_attempt_at": None,
    }
    if isinstance(outcome, Sent):
        new.update(
            status="delivered" if outcome.delivered else "sent",
            provider_id=outcome.provider_id,
            segments=outcome.segments,
            sent_at=now,
            delivered_at=now if outcome.delivered else None,
        )
        log.debug("delivery %d sent by %s", row.id, row.channel)
        return new
    if outcome.permanent:
        status = "suppressed" if outcome.reason.startswith("suppressed") else "failed"
        new.update(status=status, last_error=outcome.reason)
        log.warning("delivery %d by %s: %s", row.id, row.channel, outcome.reason)
        return new
    delay = backoff(row.attempts, outcome.retry_after, settings.retry_base_seconds)
    due = now + timedelta(seconds=delay)
    deadline = row.created_at + timedelta(minutes=settings.deadline_minutes)
    if row.attempts >= settings.max_attempts or due > deadline:
        reason = f"gave up after {row.attempts} attempts: {outcome.reason}"
        new.update(status="failed", last_error=reason)
        log.warning("delivery %d by %s: %s", row.id, row.channel, reason)
    else:
        new.update(status="pending", next_attempt_at=due, last_error=outcome.reason)
        log.info(
            "delivery %d by %s: %s; retry in %.1fs", row.id, row.channel, outcome.reason, delay
        )
    return new


async def _apply(session: AsyncSession, changes: list[dict[str, Any]], *, postgres: bool) -> None:
    """Write the new states: one UPDATE per group of identical changes (a whole email
    request shares its provider id), one executemany for the rest."""
    table = DELIVERIES
    groups: dict[tuple[Any, ...], list[int]] = {}
    for new in changes:
        key = tuple(sorted((k, v) for k, v in new.items() if k != "id"))
        groups.setdefault(key, []).append(new["id"])
    singles = []
    for key, ids in groups.items():
        if len(ids) == 1:
            singles.append({"b_id": ids[0], **{f"b_{k}": v for k, v in key}})
            continue
        await session.execute(
            update(table).where(among(table.c.id, ids, postgres=postgres)).values(dict(key))
        )
    if singles:
        columns = [k for k in singles[0] if k != "b_id"]
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({k[2:]: bindparam(k) for k in columns}),
            singles,
        )


def backoff(attempts: int, retry_after: float | None, base: float) -> float:
    """Exponential backoff with jitter; a provider's Retry-After wins when longer."""
    delay = min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempts - 1))
    delay = random.uniform(delay / 2, delay)  # noqa: S311  (jitter, not security)
    return max(delay, retry_after or 0.0)
