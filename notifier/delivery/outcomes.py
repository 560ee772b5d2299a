"""Recording what became of each delivery, as it happens.

Outcomes are written as each provider call returns, not once a batch is done: a worker
killed mid-batch leaves unrecorded only the calls it had in flight, and those are all
that can go out twice (design.md). One writer per worker takes whatever outcomes and
claim renewals arrived while it wrote the last ones and writes them in one transaction
(group commit), so recording a call costs no transaction of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from config import DeliverySettings
from notifier.db import among, utcnow
from notifier.delivery import metrics
from notifier.delivery.channels.base import DeliveryError, Outcome, Sent
from notifier.delivery.fallback import GAVE_UP
from notifier.statuses import DeliveryStatus
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
    """The one writer of a worker's delivery outcomes and claim renewals.

    Batches are sent inside ``writing()``: while any is, one writer task keeps one
    connection (no checkout and ping per write, on a worker whose texts each wait for
    their write); the last batch out waits for it to give the connection back.
    """

    def __init__(self, engine: AsyncEngine, settings: DeliverySettings) -> None:
        # A connection, not an ORM session: a write is a few statements, many a second.
        self._engine = engine
        self._settings = settings
        self._postgres = engine.dialect.name == "postgresql"
        dialect = postgresql if self._postgres else sqlite
        self._suppress = dialect.insert(Suppression.__table__).on_conflict_do_nothing()
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._queue: list[_Write] = []
        self._more = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._batches = 0

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Around the sending of a batch; see the class."""
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            writer = self._writer
            if not self._batches and writer is not None:
                self._more.set()
                await asyncio.shield(writer)

    async def record(self, items: Sequence[tuple[Claimed, Outcome, str]]) -> list[dict[str, Any]]:
        """Write the outcomes of (row, outcome, address) and any suppression they call
        for; returns once committed, with each row's new state (see ``change``)."""
        now = utcnow()
        delays = _delays(items, self._settings)
        changes = [
            change(row, outcome, now, self._settings, delays.get(id(outcome)))
            for row, outcome, _ in items
        ]
        suppressions = [
            {"channel": row.channel, "address": to, "reason": outcome.suppress, "created_at": now}
            for row, outcome, to in items
            if isinstance(outcome, DeliveryError) and outcome.suppress and to
        ]
        await self._submit(_Write(changes, suppressions, [], self._future()))
        metrics.count_recorded([row for row, _outcome, _to in items], changes)
        return changes

    async def renew(self, ids: Sequence[int]) -> None:
        """Renew this worker's claims on ``ids`` (those still being sent)."""
        await self._submit(_Write([], [], list(ids), self._future()))

    @staticmethod
    def _future() -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, write: _Write) -> None:
        self._queue.append(write)
        self._more.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        # A caller cancelled here leaves its write queued: it is written all the same.
        await write.done

    async def _write_all(self) -> None:
        held: AsyncConnection | None = None
        try:
            while self._queue or self._batches:
                if not self._queue:
                    self._more.clear()
                    await self._more.wait()
                    continue
                taken, self._queue = self._queue, []
                try:
                    held = await self._write(taken, held)
                except Exception as exc:  # every waiter hears of it
                    if held is not None:
                        await held.invalidate()
                        held = None
                    for write in taken:
                        if not write.done.done():
                            write.done.set_exception(exc)
                    continue
                for write in taken:
                    if not write.done.done():
                        write.done.set_result(None)
        finally:
            # Decided with no wait since the last look at the queue: whatever is submitted
            # from here on starts a writer of its own.
            self._writer = None
            if held is not None:
                await held.close()

    async def _write(
        self, taken: list[_Write], held: AsyncConnection | None
    ) -> AsyncConnection | None:
        """Write ``taken``; returns the connection to write the next ones with, if any."""
        changes = sorted((c for w in taken for c in w.changes), key=lambda c: int(c["id"]))
        changed = {c["id"] for c in changes}
        renewals = sorted({i for w in taken for i in w.renewals} - changed)
        suppressions = [s for w in taken for s in w.suppressions]
        if self._postgres and not suppressions:
            # Each statement on its own (autocommit): one round trip, and a round trip
            # costs a wait in a busy worker's event loop.
            if held is None:
                held = await self._autocommit.connect()
            await self._statements(held, renewals, changes)
            return held
        async with self._engine.begin() as connection:
            await self._statements(connection, renewals, changes)
            if suppressions:  # in one transaction with the outcomes that call for them
                await connection.execute(self._suppress, suppressions)
        return held

    async def _statements(
        self, connection: AsyncConnection, renewals: list[int], changes: list[dict[str, Any]]
    ) -> None:
        if renewals:
            await connection.execute(
                update(DELIVERIES)
                .where(
                    among(DELIVERIES.c.id, renewals, postgres=self._postgres),
                    DELIVERIES.c.status == DeliveryStatus.sending,
                )
                .values(claimed_at=utcnow())
            )
        if changes and self._postgres:
            await _update_from_arrays(connection, changes)
        elif changes:
            await _apply(connection, changes)


def change(
    row: Claimed,
    outcome: Outcome,
    now: datetime,
    settings: DeliverySettings,
    delay: float | None = None,
) -> dict[str, Any]:
    """The row's new state after ``outcome``; every key always present (see ``_apply``).
    Status: ``sent``/``delivered``; ``suppressed``/``failed`` if permanent; ``parked``
    if our credentials were refused (``alert_ops``); ``pending`` until the provider's
    pause ends if it was not asked (``paused_until``: the attempt does not count); else
    ``pending`` after ``delay`` seconds (default: its own ``backoff``), or ``failed``
    past ``max_attempts`` or the deadline."""
    new: dict[str, Any] = {
        "id": row.id,
        "status": DeliveryStatus.sent,
        "attempts": row.attempts,
        "provider_id": None,
        "segments": None,
        "last_error": None,
        "sent_at": None,
        "delivered_at": None,
        "next_attempt_at": None,
    }
    if isinstance(outcome, Sent):
        new.update(
            status=DeliveryStatus.delivered if outcome.delivered else DeliveryStatus.sent,
            provider_id=outcome.provider_id,
            segments=outcome.segments,
            sent_at=now,
            delivered_at=now if outcome.delivered else None,
        )
        log.debug("delivery %d sent by %s", row.id, row.channel)
        return new
    if outcome.alert_ops:
        # Our credentials, not this message: it waits for ops (``parking``), unretried.
        new.update(status=DeliveryStatus.parked, last_error=outcome.reason)
        return new
    if outcome.permanent:
        status = DeliveryStatus.suppressed if outcome.suppressed else DeliveryStatus.failed
        new.update(status=status, last_error=outcome.reason)
        log.warning("delivery %d by %s: %s", row.id, row.channel, outcome.reason)
        return new
    deadline = row.created_at + timedelta(minutes=settings.deadline_minutes)
    if outcome.paused_until is not None and outcome.paused_until <= deadline:
        # Never sent: it goes with the rest of its batch once the pause ends.
        new.update(
            status=DeliveryStatus.pending,
            next_attempt_at=outcome.paused_until,
            last_error=outcome.reason,
            attempts=row.attempts - 1,
        )
        return new
    if delay is None:
        delay = backoff(row.attempts, outcome.retry_after, settings.retry_base_seconds)
    due = now + timedelta(seconds=delay)
    if row.attempts >= settings.max_attempts or due > deadline:
        reason = f"{GAVE_UP} {row.attempts} attempts: {outcome.reason}"
        new.update(status=DeliveryStatus.failed, last_error=reason)
        log.warning("delivery %d by %s: %s", row.id, row.channel, reason)
    else:
        new.update(status=DeliveryStatus.pending, next_attempt_at=due, last_error=outcome.reason)
        log.info(
            "delivery %d by %s: %s; retry in %.1fs", row.id, row.channel, outcome.reason, delay
        )
    return new


def _delays(
    items: Sequence[tuple[Claimed, Outcome, str]], settings: DeliverySettings
) -> dict[int, float]:
    """One retry delay per provider call (an outcome object; an email request's rows
    share theirs), by ``id`` of the outcome: the rows a call carried come due together,
    and go again as one batch, not as many small ones (a jitter each)."""
    attempts: dict[int, tuple[DeliveryError, int]] = {}
    for row, outcome, _to in items:
        if isinstance(outcome, DeliveryError) and not outcome.permanent:
            _seen, most = attempts.get(id(outcome), (outcome, 0))
            attempts[id(outcome)] = (outcome, max(most, row.attempts))
    return {
        key: backoff(most, outcome.retry_after, settings.retry_base_seconds)
        for key, (outcome, most) in attempts.items()
    }


# Every row its own values, in one statement whatever their number (PostgreSQL).
_UPDATE_FROM_ARRAYS = text(
    """
    UPDATE deliveries SET status = u.status, attempts = u.attempts,
        provider_id = u.provider_id, segments = u.segments, last_error = u.last_error,
        sent_at = u.sent_at, delivered_at = u.delivered_at,
        next_attempt_at = u.next_attempt_at
    FROM unnest(
        CAST(:id AS bigint[]), CAST(:status AS varchar[]), CAST(:attempts AS integer[]),
        CAST(:provider_id AS varchar[]), CAST(:segments AS integer[]),
        CAST(:last_error AS text[]), CAST(:sent_at AS timestamptz[]),
        CAST(:delivered_at AS timestamptz[]), CAST(:next_attempt_at AS timestamptz[])
    ) AS u(
        id, status, attempts, provider_id, segments, last_error, sent_at, delivered_at,
        next_attempt_at
    )
    WHERE deliveries.id = u.id
    """
)
# The common case, sent: three arrays to encode rather than eight, one time for all.
# 'sent' is DeliveryStatus.sent (tests/notifier/test_statuses.py holds them equal).
_UPDATE_SENT = text(
    """
    UPDATE deliveries SET status = 'sent', provider_id = u.provider_id, segments = u.segments,
        last_error = NULL, sent_at = :sent_at, delivered_at = NULL, next_attempt_at = NULL
    FROM unnest(
        CAST(:id AS bigint[]), CAST(:provider_id AS varchar[]), CAST(:segments AS integer[])
    ) AS u(id, provider_id, segments)
    WHERE deliveries.id = u.id
    """
)


async def _update_from_arrays(connection: AsyncConnection, changes: list[dict[str, Any]]) -> None:
    sent = [c for c in changes if c["status"] == DeliveryStatus.sent]
    if sent:
        await connection.execute(
            _UPDATE_SENT,
            {
                "id": [c["id"] for c in sent],
                "provider_id": [c["provider_id"] for c in sent],
                "segments": [c["segments"] for c in sent],
                "sent_at": sent[-1]["sent_at"],
            },
        )
    if others := [c for c in changes if c["status"] != DeliveryStatus.sent]:
        arrays = {key: [c[key] for c in others] for key in others[0]}
        await connection.execute(_UPDATE_FROM_ARRAYS, arrays)


async def _apply(connection: AsyncConnection, changes: list[dict[str, Any]]) -> None:
    """Write the new states (SQLite): one UPDATE per group of identical changes (a whole
    email request shares its provider id), one executemany for the rest."""
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
        await connection.execute(update(table).where(table.c.id.in_(ids)).values(dict(key)))
    if singles:
        columns = [k for k in singles[0] if k != "b_id"]
        await connection.execute(
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
