"""Sending a batch of deliveries: claim, render, send, record. At-least-once, and the
window for a duplicate is one in-flight provider call (a row is claimed with a
conditional UPDATE before the call and marked after it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links, messages
from notifier.channels.base import Channel, Content, DeliveryError, Outcome, Recipient, Sent
from notifier.db import among, utcnow
from notifier.fanout import insert_ignoring_duplicates
from notifier.rendering import render
from notifier.tables import Customer, Delivery, Notification, Suppression

log = logging.getLogger(__name__)
DELIVERIES = cast(Table, Delivery.__table__)
# What a notification says depends only on it and the language: keep a few.
CONTEXT_CACHE = 256
MAX_BACKOFF_SECONDS = 900.0
TEXTS_FIRST_SECONDS = 5.0


class Sender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._settings = settings
        self._contexts: dict[tuple[str, str], dict[str, Any]] = {}
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self._texts_sending = 0
        self._texts_done = asyncio.Event()
        self._texts_done.set()

    async def send(self, channel_name: str, ids: Sequence[int]) -> float | None:
        """Send what is due among ``ids``; returns seconds until some are due again."""
        if channel_name == "sms":
            async with self._sending_texts():
                return await self._send(channel_name, ids)
        if channel_name == "email":
            await self._after_texts()
        return await self._send(channel_name, ids)

    @contextlib.asynccontextmanager
    async def _sending_texts(self) -> AsyncIterator[None]:
        self._texts_sending += 1
        self._texts_done.clear()
        try:
            yield
        finally:
            self._texts_sending -= 1
            if not self._texts_sending:
                self._texts_done.set()

    async def _after_texts(self) -> None:
        """Texts before email in one worker. An email batch is a thousand recipients of
        CPU work, and every text sent meanwhile waits for it (their round trips share
        the event loop); so it waits while this worker sends texts, but no longer than
        ``TEXTS_FIRST_SECONDS``: a trickle of rate-limited texts cannot hold email back."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TEXTS_FIRST_SECONDS):
                await self._texts_done.wait()

    async def _send(self, channel_name: str, ids: Sequence[int]) -> float | None:
        channel = self._channels[channel_name]
        now = utcnow()
        outcomes: dict[int, Outcome] = {}
        retry_in: float | None = None
        # The claim commits with the read of what to send: one connection, one round of each.
        async with self._sessions() as session, session.begin():
            claimed = await self._claim(session, ids, now)
            if claimed:
                rows, work = await self._prepare(session, claimed, now, outcomes)
        if claimed:
            for content, recipients in work:
                results = await channel.send(content, recipients)
                outcomes.update(zip([r.delivery_id for r in recipients], results, strict=True))
            retry_in = await self._record(rows, outcomes, now)
        if len(claimed) == len(ids):
            return retry_in
        # Some were not ours to send now (sent already, or due later): when are they due?
        later = await self._next_due(ids)
        return later if retry_in is None or later is None else min(retry_in, later)

    async def _claim(self, session: AsyncSession, ids: Sequence[int], now: datetime) -> list[int]:
        result = await session.execute(
            update(DELIVERIES)
            .where(
                among(Delivery.id, ids, postgres=self._postgres),
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now,
            )
            .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
            .returning(Delivery.id)
        )
        return list(result.scalars())

    async def _prepare(
        self,
        session: AsyncSession,
        claimed: list[int],
        now: datetime,
        outcomes: dict[int, Outcome],
    ) -> tuple[list[Any], list[tuple[Content, list[Recipient]]]]:
        address = case(
            (Delivery.channel == "email", Customer.email),
            (Delivery.channel == "sms", Customer.phone),
            else_=Customer.inapp_user_id,
        )
        suppressed = (
            select(Suppression.reason)
            .where(Suppression.channel == Delivery.channel, Suppression.address == address)
            .limit(1)
            .scalar_subquery()
        )
        rows = list(
            await session.execute(
                select(
                    Delivery.id,
                    Delivery.channel,
                    Delivery.attempts,
                    Delivery.created_at,
                    Delivery.notification_id,
                    Customer.id.label("customer_id"),
                    Customer.name,
                    Customer.locale,
                    address.label("address"),
                    suppressed.label("suppressed"),
                )
                .join(Customer, Customer.id == Delivery.customer_id)
                .where(among(Delivery.id, claimed, postgres=self._postgres))
                .order_by(Delivery.id)
            )
        )
        notifications = {
            n.id: n
            for n in await session.scalars(
                select(Notification).where(Notification.id.in_({r[4] for r in rows}))
            )
        }
        superseded = await self._superseded(session, set(notifications))
        deadline = timedelta(minutes=self._settings.delivery.deadline_minutes)
        groups: dict[tuple[str, str, str], list[Recipient]] = {}
        secret = self._settings.secret_key.get_secret_value()
        public = str(self._settings.public_url).rstrip("/")
        for (
            delivery_id,
            channel,
            attempts,
            created_at,
            notification_id,
            customer_id,
            name,
            locale,
            to,
            blocked,
        ) in rows:
            if not to:
                outcomes[delivery_id] = DeliveryError("the address was removed", permanent=True)
            elif blocked:
                outcomes[delivery_id] = DeliveryError(f"suppressed: {blocked}", permanent=True)
            elif attempts > 1 and notification_id in superseded:
                # A late retry of an old update would only confuse: a newer one exists.
                outcomes[delivery_id] = DeliveryError(
                    "superseded by a newer update", permanent=True
                )
            elif now - created_at > deadline:
                outcomes[delivery_id] = DeliveryError("past the delivery deadline", permanent=True)
            else:
                token = links.sign(secret, "unsubscribe", f"{customer_id}:{channel}")
                manage = links.manage_token(secret, customer_id, channel)
                recipient = Recipient(
                    delivery_id=delivery_id,
                    address=to,
                    values={
                        "greeting": messages.greeting(locale, name),
                        "unsubscribe_url": f"{public}/unsubscribe/{token}",
                        "manage_url": f"{public}/manage/{manage}",
                    },
                )
                groups.setdefault((notification_id, channel, locale), []).append(recipient)
        work = []
        for (notification_id, channel, locale), recipients in groups.items():
            notification = notifications[notification_id]
            context = await self._context(session, notification, locale)
            for recipient in recipients:
                recipient.values["url"] = context["url"]
            work.append((render(notification.kind, channel, locale, context), recipients))
        return rows, work

    async def _context(
        self, session: AsyncSession, notification: Notification, locale: str
    ) -> dict[str, Any]:
        key = (notification.id, locale)
        if key not in self._contexts:
            if len(self._contexts) >= CONTEXT_CACHE:
                self._contexts.pop(next(iter(self._contexts)))
            self._contexts[key] = await messages.context(
                session, notification, self._settings, locale
            )
        return self._contexts[key]

    async def _superseded(self, session: AsyncSession, ids: set[str]) -> set[str]:
        """Notifications for which a newer one about the same subject exists."""
        if not ids:
            return set()
        newer = Notification.__table__.alias("newer")
        rows = await session.execute(
            select(Notification.id)
            .where(Notification.id.in_(ids))
            .where(
                select(newer.c.id)
                .where(
                    newer.c.subject_id == Notification.subject_id,
                    newer.c.created_at > Notification.created_at,
                )
                .exists()
            )
        )
        return set(rows.scalars())

    async def _record(
        self, rows: list[Any], outcomes: dict[int, Outcome], now: datetime
    ) -> float | None:
        """Write every outcome; returns seconds until the first retry is due, if any."""
        changes = [self._change(row, outcomes[row.id], now) for row in rows]
        suppressions = [
            (row.id, row.channel, outcome.suppress)
            for row in rows
            if isinstance(outcome := outcomes[row.id], DeliveryError) and outcome.suppress
        ]
        async with self._sessions() as session, session.begin():
            await _apply(session, changes, postgres=self._postgres)
            if suppressions:
                await self._suppress(session, suppressions, now)
        sent = sum(1 for o in outcomes.values() if isinstance(o, Sent))
        log.info("batch of %d: %d sent, %d not", len(outcomes), sent, len(outcomes) - sent)
        retries = [c["next_attempt_at"] for c in changes if c["status"] == "pending"]
        return (min(retries) - now).total_seconds() if retries else None

    async def _suppress(
        self, session: AsyncSession, items: list[tuple[int, str, str]], now: datetime
    ) -> None:
        ids = [delivery_id for delivery_id, _channel, _reason in items]
        found = await session.execute(
            select(Delivery.id, Customer.email, Customer.phone, Customer.inapp_user_id)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Delivery.id.in_(ids))
        )
        addresses = {i: {"email": e, "sms": p, "inapp": u} for i, e, p, u in found}
        values = [
            {"channel": channel, "address": address, "reason": reason, "created_at": now}
            for delivery_id, channel, reason in items
            if (address := addresses.get(delivery_id, {}).get(channel))
        ]
        if values:
            await session.execute(insert_ignoring_duplicates(session, Suppression), values)

    def _change(self, row: Any, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """The row's new state; every key always present (see ``_apply``)."""
        change: dict[str, Any] = {
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
            change.update(
                status="delivered" if outcome.delivered else "sent",
                provider_id=outcome.provider_id,
                segments=outcome.segments,
                sent_at=now,
                delivered_at=now if outcome.delivered else None,
            )
            log.debug("delivery %d sent by %s", row.id, row.channel)
            return change
        if outcome.permanent:
            status = "suppressed" if outcome.reason.startswith("suppressed") else "failed"
            change.update(status=status, last_error=outcome.reason)
            log.warning("delivery %d by %s: %s", row.id, row.channel, outcome.reason)
            return change
        settings = self._settings.delivery
        delay = backoff(row.attempts, outcome.retry_after, settings.retry_base_seconds)
        due = now + timedelta(seconds=delay)
        deadline = row.created_at + timedelta(minutes=settings.deadline_minutes)
        if row.attempts >= settings.max_attempts or due > deadline:
            reason = f"gave up after {row.attempts} attempts: {outcome.reason}"
            change.update(status="failed", last_error=reason)
            log.warning("delivery %d by %s: %s", row.id, row.channel, reason)
        else:
            change.update(status="pending", next_attempt_at=due, last_error=outcome.reason)
            log.info(
                "delivery %d by %s: %s; retry in %.1fs", row.id, row.channel, outcome.reason, delay
            )
        return change

    async def _next_due(self, ids: Sequence[int]) -> float | None:
        async with self._sessions() as session:
            due = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    among(Delivery.id, ids, postgres=self._postgres), Delivery.status == "pending"
                )
            )
        if due is None:
            return None
        if due.tzinfo is None:  # SQLite's MIN() bypasses the column type
            due = datetime.fromisoformat(str(due)).replace(tzinfo=utcnow().tzinfo)
        return max(0.0, (due - utcnow()).total_seconds())


async def _apply(session: AsyncSession, changes: list[dict[str, Any]], *, postgres: bool) -> None:
    """Write the new states: one UPDATE per group of identical changes (a whole email
    batch shares its provider id), one executemany for the rest."""
    table = DELIVERIES
    groups: dict[tuple[Any, ...], list[int]] = {}
    for change in changes:
        key = tuple(sorted((k, v) for k, v in change.items() if k != "id"))
        groups.setdefault(key, []).append(change["id"])
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
