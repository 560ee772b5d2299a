"""Fallback and channel order: when one channel cannot reach a customer, the next one does.

The rules (issue 12, behaviour 9; design.md's care policies):

- A customer with no channel order (``customers.channel_order`` null) gets every
  consented channel at once, from fan-out. When their text fails permanently (a
  permanent ``DeliveryError``: invalid number, landline, STOP; not a transient error,
  not our credentials refused, not a message too late to send: its ``falls_back``),
  their email follows.
  A critical notification's in-app message still unread ``unread_fallback_minutes``
  after it arrived goes by email too (when no email of it exists yet).
- A customer with a channel order (``["sms", "email"]``) gets the first reachable
  channel of it only (fan-out's ``ORDERED`` step); on a permanent failure the next
  reachable one, and after a critical in-app message left unread as long, the next
  one too. An unread message that is not critical is not chased: it did arrive.
  Channels not in the order are not used.

A failure the sender records has its fallback written just after, in a transaction of
its own; a worker killed in between leaves it without one, and ``missed`` (run by the
sweeper) writes it. A failure a provider reports later (a Twilio status callback) has
its fallback written in the same transaction (``provider_events.twilio_status``).

Reachable: an address on the channel, consent confirmed and not revoked, and the
address not suppressed. A channel with an address but no consent (or suppressed) gets a
``suppressed`` row saying why, as fan-out does, and the walk goes on past it. Each row
made here names the row it follows in ``fallback_of`` (the ops API shows it). Rows are
unique per (notification, customer, channel): a channel that has a row already ends
the walk, so nothing goes twice however often a fallback runs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Insert, Table, and_, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier.db import utcnow
from notifier.statuses import ChannelName, DeliveryStatus
from notifier.tables import (
    Consent,
    Customer,
    Delivery,
    InboxMessage,
    Notification,
    Suppression,
)
from notifier.tables.customers import ADDRESS

DELIVERIES = cast(Table, Delivery.__table__)
# The reasons of the sender's failures that are ``late`` (``DeliveryError.late``): too late
# to go at all, by any channel. ``missed`` reads them back.
SUPERSEDED = "superseded by a newer update"
PAST_DEADLINE = "past the delivery deadline"
# How a failure given up after its retries begins (``outcomes.change``): not the
# address's fault, so no other channel either.
GAVE_UP = "gave up after"
# At most this many failures are followed up per sweep (the next sweep does the rest).
MISSED_PER_SWEEP = 1000

# Who has no order: a text that cannot arrive, or an urgent in-app message nobody read,
# goes by email.
DEFAULT_NEXT: dict[str, tuple[str, ...]] = {
    ChannelName.sms: (ChannelName.email,),
    ChannelName.inapp: (ChannelName.email,),
}


def next_channels(order: Sequence[str] | None, after: str | None) -> list[str]:
    """The channels to try, in turn, after one on channel ``after`` did not reach its
    customer (None: before any, fan-out's start); ``order`` is theirs, or None."""
    if order is None:
        return [] if after is None else list(DEFAULT_NEXT.get(after, ()))
    if after is None:
        return list(order)
    return list(order[order.index(after) + 1 :]) if after in order else []


def urgent() -> ColumnElement[bool]:
    """Whether a ``Notification`` is urgent enough to chase unread: ``urgent``, set when
    it was written (a critical impact, or asked for on the update)."""
    return Notification.urgent.is_(True)


@dataclass(frozen=True)
class Step:
    """A (notification, customer) to carry on: from the delivery ``delivery_id`` on
    ``after``, or from the start (both None)."""

    notification_id: str
    customer_id: str
    after: str | None = None
    delivery_id: int | None = None


@dataclass
class _Reach:
    """What decides, for one customer, whether each channel can reach them."""

    locale: str
    order: list[str] | None
    addresses: dict[str, str]
    consented: set[str] = field(default_factory=set)
    suppressed: dict[str, str] = field(default_factory=dict)

    def refusal(self, channel: str) -> str | None:
        """Why the channel may not be used (its ``last_error``), or None: it may."""
        if channel not in self.consented:
            return "no consent for this channel"
        if channel in self.suppressed:
            return f"address suppressed: {self.suppressed[channel]}"
        return None


async def _reach(session: AsyncSession, ids: set[str]) -> dict[str, _Reach]:
    """Each customer's addresses, order, consents and suppressions: three queries."""
    found: dict[str, _Reach] = {}
    rows = await session.execute(
        select(Customer.id, Customer.locale, Customer.channel_order, *ADDRESS.values()).where(
            Customer.id.in_(ids), Customer.erased_at.is_(None)
        )
    )
    for row in rows:
        addresses: dict[str, str] = {
            channel.value: str(value)
            for channel, column in ADDRESS.items()
            if (value := getattr(row, column.key))
        }
        found[row.id] = _Reach(row.locale, row.channel_order, addresses)
    if not found:
        return found
    consents = await session.execute(
        select(Consent.customer_id, Consent.channel).where(
            Consent.customer_id.in_(found),
            Consent.confirmed_at.is_not(None),
            Consent.revoked_at.is_(None),
        )
    )
    for customer_id, channel in consents:
        found[customer_id].consented.add(channel)
    wanted = {(c, a) for r in found.values() for c, a in r.addresses.items()}
    suppressions = await session.execute(
        select(Suppression.channel, Suppression.address, Suppression.reason).where(
            or_(*(and_(Suppression.channel == c, Suppression.address == a) for c, a in wanted))
        )
    )
    reasons = {(c, a): reason for c, a, reason in suppressions}
    for reach in found.values():
        for channel, address in reach.addresses.items():
            if (channel, address) in reasons:
                reach.suppressed[channel] = reasons[channel, address]
    return found


def _insert(session: AsyncSession) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING into deliveries (as fan-out's; that module
    imports this one)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(DELIVERIES).on_conflict_do_nothing()
    return sqlite.insert(DELIVERIES).on_conflict_do_nothing()


@dataclass
class _Walk:
    step: Step
    reach: _Reach
    remaining: list[str]
    previous: int | None


async def advance(
    session: AsyncSession,
    steps: Sequence[Step],
    *,
    now: datetime,
    skip: Collection[str] = (),
) -> list[tuple[int, str, str]]:
    """Make each step's next deliveries (see the module): ``suppressed`` rows for the
    channels it may not use, then one ``pending`` row on the first it may; channels in
    ``skip`` are passed over without a row (SMS for an event not sent by text). Returns the
    pending rows made, as (id, channel, locale) for ``fanout.batch_up``. A few
    statements whatever the number of steps: three reads and one INSERT per channel
    walked past."""
    unique = {(s.notification_id, s.customer_id): s for s in steps}
    reach = await _reach(session, {s.customer_id for s in unique.values()})
    walks = []
    for step in unique.values():
        customer = reach.get(step.customer_id)
        if customer is None:  # erased
            continue
        remaining = [
            c
            for c in next_channels(customer.order, step.after)
            if c in customer.addresses and c not in skip
        ]
        if remaining:
            walks.append(_Walk(step, customer, remaining, step.delivery_id))
    made: list[tuple[int, str, str]] = []
    while walks:
        rows: list[dict[str, Any]] = []
        for walk in walks:
            channel = walk.remaining.pop(0)
            refusal = walk.reach.refusal(channel)
            rows.append(
                {
                    "notification_id": walk.step.notification_id,
                    "customer_id": walk.step.customer_id,
                    "channel": channel,
                    "status": DeliveryStatus.suppressed if refusal else DeliveryStatus.pending,
                    "last_error": refusal,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "fallback_of": walk.previous,
                }
            )
        result = await session.execute(
            _insert(session).returning(
                Delivery.id, Delivery.notification_id, Delivery.customer_id, Delivery.status
            ),
            rows,
        )
        inserted = {(r.notification_id, r.customer_id): r for r in result}
        going_on = []
        for walk, row in zip(walks, rows, strict=True):
            new = inserted.get((walk.step.notification_id, walk.step.customer_id))
            if new is None:  # that channel has its row already: it goes (or went) that way
                continue
            if new.status == DeliveryStatus.pending:
                made.append((new.id, row["channel"], walk.reach.locale))
            elif walk.remaining:
                walk.previous = new.id
                going_on.append(walk)
        walks = going_on
    return sorted(made)


async def after_failures(
    session: AsyncSession, delivery_ids: Sequence[int], *, now: datetime
) -> list[tuple[int, str, str]]:
    """The next deliveries of these, which failed permanently (``warrants_fallback``):
    as ``advance``."""
    if not delivery_ids:
        return []
    rows = await session.execute(
        select(Delivery.id, Delivery.notification_id, Delivery.customer_id, Delivery.channel)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
    )
    steps = [Step(r.notification_id, r.customer_id, r.channel, r.id) for r in rows]
    return await advance(session, steps, now=now)


async def after_unread(
    session: AsyncSession, settings: DeliverySettings, *, now: datetime | None = None
) -> list[tuple[int, str, str]]:
    """The next deliveries of urgent notifications' (``urgent``) in-app messages unread
    (and not archived) ``unread_fallback_minutes`` after they arrived (as ``advance``).
    Messages older than the delivery deadline are left: too late. Safe to run any number
    of times (a message followed up once is not looked at again)."""
    now = now or utcnow()
    unread_for = timedelta(minutes=settings.unread_fallback_minutes)
    oldest = now - timedelta(minutes=settings.deadline_minutes)
    later = DELIVERIES.alias("later")
    followed = select(later.c.id).where(later.c.fallback_of == Delivery.id)
    rows = await session.execute(
        select(Delivery.id, Delivery.notification_id, Delivery.customer_id)
        .join(InboxMessage, InboxMessage.delivery_id == Delivery.id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            InboxMessage.read_at.is_(None),
            # Archived unread is dealt with: the user put it away, no email needed.
            InboxMessage.archived_at.is_(None),
            InboxMessage.created_at <= now - unread_for,
            InboxMessage.created_at > oldest,
            Delivery.channel == ChannelName.inapp,
            urgent(),
            ~followed.exists(),
        )
        .order_by(Delivery.id)
    )
    steps = [Step(r.notification_id, r.customer_id, ChannelName.inapp, r.id) for r in rows]
    return await advance(session, steps, now=now)


async def missed(
    session: AsyncSession, settings: DeliverySettings, *, now: datetime
) -> list[tuple[int, str, str]]:
    """The next deliveries of recent permanent failures whose fallback was never written
    (its worker was killed between recording the failure and writing the fallback): as
    ``advance``. Recent: claimed within ``deadline_minutes``.

    What the sender recorded as failing for good and worth another channel
    (``DeliveryError.falls_back``) is read back from the row: ``failed`` or ``suppressed``
    after a claim (``attempts`` > 0; fan-out's and ``advance``'s own suppressed rows
    are written with their next step), with no provider id (one a provider reported
    later has its fallback written with it), and not late nor given up after retries.
    Skipped as done already: a row with a fallback, one of an ordered customer with
    any later row of the same message, one of a customer without an order with the
    message on another channel already (fan-out sent every channel at once), or with
    no email address to fall back to (``DEFAULT_NEXT``).

    Safe to run any number of times, and by two workers at once: the rows' unique key
    (notification, customer, channel) lets one of two writers insert, and ``advance``
    stops at a channel that has its row.
    """
    oldest = now - timedelta(minutes=settings.deadline_minutes)
    later = DELIVERIES.alias("later")
    other = DELIVERIES.alias("other")
    followed = select(later.c.id).where(later.c.fallback_of == Delivery.id)
    covered = select(other.c.id).where(
        other.c.notification_id == Delivery.notification_id,
        other.c.customer_id == Delivery.customer_id,
        other.c.channel != Delivery.channel,
        or_(other.c.id > Delivery.id, Customer.channel_order.is_(None)),
    )
    rows = await session.execute(
        select(Delivery.id, Delivery.notification_id, Delivery.customer_id, Delivery.channel)
        .join(Customer, Customer.id == Delivery.customer_id)
        .where(
            # Literals, not binds: the planner must see the partial index's own condition
            # (``tables.deliveries.FAILED_AFTER_CLAIM``) to use it.
            text("deliveries.status IN ('failed', 'suppressed') AND deliveries.attempts > 0"),
            Delivery.provider_id.is_(None),
            Delivery.claimed_at > oldest,
            Delivery.last_error.not_in((SUPERSEDED, PAST_DEADLINE)),
            Delivery.last_error.not_like(f"{GAVE_UP}%"),
            ~followed.exists(),
            ~covered.exists(),
            or_(
                Customer.channel_order.is_not(None),
                and_(
                    Delivery.channel.in_(DEFAULT_NEXT),
                    Customer.email.is_not(None),
                    Customer.email != "",
                ),
            ),
        )
        .order_by(Delivery.id)
        .limit(MISSED_PER_SWEEP)
    )
    steps = [Step(r.notification_id, r.customer_id, r.channel, r.id) for r in rows]
    return await advance(session, steps, now=now)
