"""Sending a batch of deliveries: claim, render, send, record. At-least-once, and the
window for a duplicate is one in-flight provider call (a row is claimed with a
conditional UPDATE before the call and marked after it)."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import audience, links, messages
from notifier.channels.base import Channel, DeliveryError, Outcome, Recipient, Sent
from notifier.db import utcnow
from notifier.fanout import insert_ignoring_duplicates
from notifier.rendering import render
from notifier.tables import Customer, Delivery, Notification, Suppression

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 900.0
ADDRESS = {"email": "email", "sms": "phone", "inapp": "inapp_user_id"}


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

    async def send(self, channel_name: str, ids: Sequence[int]) -> float | None:
        """Send what is due among ``ids``; returns seconds until some are due again."""
        channel = self._channels[channel_name]
        now = utcnow()
        claimed = await self._claim(ids, now)
        outcomes: dict[int, Outcome] = {}
        if claimed:
            async with self._sessions() as session:
                work = await self._prepare(session, claimed, now, outcomes)
            for content, recipients in work:
                results = await channel.send(content, recipients)
                outcomes.update(zip([r.delivery_id for r in recipients], results, strict=True))
            await self._record(outcomes, now)
        return await self._next_due(ids)

    async def _claim(self, ids: Sequence[int], now: datetime) -> list[int]:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status == "pending",
                    Delivery.next_attempt_at <= now,
                )
                .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            return list(result.scalars())

    async def _prepare(
        self,
        session: AsyncSession,
        claimed: list[int],
        now: datetime,
        outcomes: dict[int, Outcome],
    ) -> list[tuple[Any, list[Recipient]]]:
        rows = (
            await session.execute(
                select(Delivery, Customer, Notification)
                .join(Customer, Customer.id == Delivery.customer_id)
                .join(Notification, Notification.id == Delivery.notification_id)
                .where(Delivery.id.in_(claimed))
                .order_by(Delivery.id)
            )
        ).all()
        addresses = {d.id: getattr(c, ADDRESS[d.channel]) for d, c, _n in rows}
        pairs = [(d.channel, a) for d, _c, _n in rows if (a := addresses[d.id])]
        blocked = await audience.suppressed(session, pairs)
        superseded = await self._superseded(session, {n.id for _d, _c, n in rows})
        deadline = timedelta(minutes=self._settings.delivery.deadline_minutes)
        groups: dict[tuple[str, str], list[tuple[Delivery, Customer]]] = {}
        notifications: dict[str, Notification] = {}
        for delivery, customer, notification in rows:
            address = addresses[delivery.id]
            if not address:
                outcomes[delivery.id] = DeliveryError("the address was removed", permanent=True)
            elif (delivery.channel, address) in blocked:
                reason = blocked[(delivery.channel, address)]
                outcomes[delivery.id] = DeliveryError(f"suppressed: {reason}", permanent=True)
            elif delivery.attempts > 1 and notification.id in superseded:
                # A late retry of an old update would only confuse: a newer one exists.
                outcomes[delivery.id] = DeliveryError(
                    "superseded by a newer update", permanent=True
                )
            elif now - delivery.created_at > deadline:
                outcomes[delivery.id] = DeliveryError("past the delivery deadline", permanent=True)
            else:
                notifications[notification.id] = notification
                key = (notification.id, customer.locale)
                groups.setdefault(key, []).append((delivery, customer))
        work = []
        secret = self._settings.secret_key.get_secret_value()
        public = str(self._settings.public_url).rstrip("/")
        for (notification_id, locale), members in groups.items():
            notification = notifications[notification_id]
            context = await messages.context(session, notification, self._settings, locale)
            channel = members[0][0].channel
            content = render(notification.kind, channel, locale, context)
            recipients = [
                Recipient(
                    delivery_id=d.id,
                    address=addresses[d.id],
                    values={
                        "greeting": messages.greeting(locale, c.name),
                        "unsubscribe_url": public
                        + "/unsubscribe/"
                        + links.sign(secret, "unsubscribe", f"{c.id}:{d.channel}"),
                        "url": context["url"],
                    },
                )
                for d, c in members
            ]
            work.append((content, recipients))
        return work

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

    async def _record(self, outcomes: dict[int, Outcome], now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(Delivery, Customer)
                    .join(Customer, Customer.id == Delivery.customer_id)
                    .where(Delivery.id.in_(list(outcomes)))
                )
            ).all()
            changes: list[dict[str, Any]] = []
            suppressions: list[dict[str, Any]] = []
            for delivery, customer in rows:
                outcome = outcomes[delivery.id]
                changes.append(self._change(delivery, outcome, now))
                address = getattr(customer, ADDRESS[delivery.channel])
                if isinstance(outcome, DeliveryError) and outcome.suppress and address:
                    suppressions.append(
                        {
                            "channel": delivery.channel,
                            "address": address,
                            "reason": outcome.suppress,
                            "created_at": now,
                        }
                    )
            if changes:
                await session.execute(update(Delivery), changes)
            if suppressions:
                await session.execute(
                    insert_ignoring_duplicates(session, Suppression), suppressions
                )

    def _change(self, delivery: Delivery, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """The row's new state (every key always present: one executemany for all)."""
        change: dict[str, Any] = {
            "id": delivery.id,
            "status": "sent",
            "provider_id": delivery.provider_id,
            "segments": delivery.segments,
            "last_error": None,
            "sent_at": delivery.sent_at,
            "delivered_at": delivery.delivered_at,
            "next_attempt_at": delivery.next_attempt_at,
        }
        if isinstance(outcome, Sent):
            change.update(
                status="delivered" if outcome.delivered else "sent",
                provider_id=outcome.provider_id,
                segments=outcome.segments,
                sent_at=now,
                delivered_at=now if outcome.delivered else None,
            )
            log.info("delivery %d sent by %s", delivery.id, delivery.channel)
            return change
        if outcome.permanent:
            status = "suppressed" if outcome.reason.startswith("suppressed") else "failed"
            change.update(status=status, last_error=outcome.reason)
            log.warning("delivery %d by %s: %s", delivery.id, delivery.channel, outcome.reason)
            return change
        settings = self._settings.delivery
        delay = backoff(delivery.attempts, outcome.retry_after, settings.retry_base_seconds)
        due = now + timedelta(seconds=delay)
        deadline = delivery.created_at + timedelta(minutes=settings.deadline_minutes)
        if delivery.attempts >= settings.max_attempts or due > deadline:
            reason = f"gave up after {delivery.attempts} attempts: {outcome.reason}"
            change.update(status="failed", last_error=reason)
            log.warning("delivery %d by %s: %s", delivery.id, delivery.channel, reason)
        else:
            change.update(status="pending", next_attempt_at=due, last_error=outcome.reason)
            log.info(
                "delivery %d by %s: %s; retry in %.1fs",
                delivery.id,
                delivery.channel,
                outcome.reason,
                delay,
            )
        return change

    async def _next_due(self, ids: Sequence[int]) -> float | None:
        async with self._sessions() as session:
            due = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.id.in_(ids), Delivery.status == "pending"
                )
            )
        if due is None:
            return None
        if due.tzinfo is None:  # SQLite's MIN() bypasses the column type
            due = datetime.fromisoformat(str(due)).replace(tzinfo=utcnow().tzinfo)
        return max(0.0, (due - utcnow()).total_seconds())


def backoff(attempts: int, retry_after: float | None, base: float) -> float:
    """Exponential backoff with jitter; a provider's Retry-After wins when longer."""
    delay = min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempts - 1))
    delay = random.uniform(delay / 2, delay)  # noqa: S311  (jitter, not security)
    return max(delay, retry_after or 0.0)
