"""Who hears about a notification, read in keyset pages (never the whole audience).

A page is the next customers of the audience, by id, with an address on one channel.
Their delivery rows are made by the database itself (``INSERT ... SELECT``), with
consent and suppression decided in the same statement, so fan-out moves no audience
through Python.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    literal,
    or_,
    select,
)

from notifier.audience_rule import AudienceRule
from notifier.db import UTCDateTime
from notifier.statuses import ChannelName, DeliveryStatus
from notifier.tables import (
    Consent,
    Customer,
    DeliveryProblemCustomer,
    RatingPrompt,
    Subscription,
    Suppression,
)
from notifier.tables.customers import address_column

CHANNELS = tuple(ChannelName)
_Select = Select[Unpack[tuple[Any, ...]]]  # noqa: UP044
# The delivery columns ``rows`` fills, in its order.
COLUMNS = (
    "notification_id",
    "customer_id",
    "channel",
    "status",
    "last_error",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def _consented(channel: str) -> Any:
    # True or NULL. Not EXISTS: for that, PostgreSQL may build a hashed subplan that reads
    # every consent there is, on every page (72 ms a page at 100,000; this is 6 ms).
    return (
        select(literal(True))
        .where(
            Consent.customer_id == Customer.id,
            Consent.channel == channel,
            Consent.confirmed_at.is_not(None),
            Consent.revoked_at.is_(None),
        )
        .limit(1)
        .scalar_subquery()
    )


def _suppression(channel: str) -> Any:
    return (
        select(Suppression.reason)
        .where(Suppression.channel == channel, Suppression.address == address_column(channel))
        .limit(1)
        .scalar_subquery()
    )


def _within(stmt: _Select, audience: AudienceRule) -> _Select:
    stmt = stmt.where(Customer.erased_at.is_(None))
    if audience.prompts is not None:
        return stmt.join(RatingPrompt, RatingPrompt.customer_id == Customer.id).where(
            RatingPrompt.notification_id == audience.prompts
        )
    if audience.problem is not None:
        return stmt.join(
            DeliveryProblemCustomer, DeliveryProblemCustomer.customer_id == Customer.id
        ).where(DeliveryProblemCustomer.problem_id == audience.problem)
    follows: ColumnElement[bool] = Subscription.component_id.is_(None)
    if audience.components:
        follows = or_(follows, Subscription.component_id.in_(audience.components))
    return stmt.where(exists().where(and_(Subscription.customer_id == Customer.id, follows)))


def page(audience: AudienceRule, channel: str, *, after: str, limit: int) -> Select[str, str]:
    """The next ``limit`` members after the cursor with an address on ``channel``:
    rows of (``id``: customer id, ``locale``), by id. ``channel``: a ``ChannelName``
    (``ValueError`` otherwise)."""
    stmt = _within(select(Customer.id, Customer.locale), audience)
    return (
        stmt.where(Customer.id > after, *_reachable(channel, audience))
        .order_by(Customer.id)
        .limit(limit)
    )


def ordered_page(audience: AudienceRule, *, after: str, limit: int) -> Select[str]:
    """The next ``limit`` members after the cursor who ordered their channels (whom
    ``page`` and ``rows`` leave out: ``notifier.delivery.fallback`` decides theirs): their
    ids, ascending."""
    stmt = _within(select(Customer.id), audience)
    # A rating prompt's channel is chosen already, by their order: ``page`` has them.
    chosen = false() if audience.prompts is not None else Customer.channel_order.is_not(None)
    return stmt.where(Customer.id > after, chosen).order_by(Customer.id).limit(limit)


def rows(
    audience: AudienceRule,
    channel: str,
    notification_id: str,
    *,
    after: str,
    upto: str,
    now: datetime,
) -> Select[Any]:
    """The delivery rows (``COLUMNS``) on ``channel`` of the members in (after, upto]:
    ``pending``, or ``suppressed`` with the reason when the channel has no consent or
    the address is suppressed (a ``DeliveryStatus`` each). ``channel``: a
    ``ChannelName`` (``ValueError`` otherwise)."""
    no_consent = _consented(channel).is_(None)
    suppressed = _suppression(channel)
    status = case(
        (no_consent, literal(DeliveryStatus.suppressed.value)),
        (suppressed.is_not(None), literal(DeliveryStatus.suppressed.value)),
        else_=literal(DeliveryStatus.pending.value),
    )
    error = case(
        (no_consent, "no consent for this channel"),
        (suppressed.is_not(None), literal("address suppressed: ") + suppressed),
    )
    stmt = select(
        literal(notification_id),
        Customer.id,
        literal(ChannelName(channel).value),
        status,
        error,
        literal(0),
        literal(now, UTCDateTime),
        literal(now, UTCDateTime),
    )
    return _within(stmt, audience).where(
        Customer.id > after, Customer.id <= upto, *_reachable(channel, audience)
    )


def _reachable(channel: str, audience: AudienceRule) -> tuple[ColumnElement[bool], ...]:
    address = address_column(channel)
    if audience.prompts is not None:  # each prompt goes by its one channel
        return address.is_not(None), address != "", RatingPrompt.channel == channel
    # Who ordered their channels is not everyone's fan-out (``ordered_page``).
    return address.is_not(None), address != "", Customer.channel_order.is_(None)
