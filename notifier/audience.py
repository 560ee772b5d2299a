"""Who hears about a notification, read in keyset pages (never the whole audience).

One query a page returns each member's addresses, consent and suppression per
channel, so fan-out does no per-member round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Unpack

from sqlalchemy import ColumnElement, Select, and_, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.tables import Consent, Customer, DeliveryProblemCustomer, Subscription, Suppression

CHANNELS = ("email", "sms", "inapp")
ADDRESS = {"email": Customer.email, "sms": Customer.phone, "inapp": Customer.inapp_user_id}


@dataclass(frozen=True)
class Reach:
    """One channel of one member: where to, and whether we may use it."""

    channel: str
    address: str
    consented: bool
    suppressed: str | None  # the suppression's reason


@dataclass(frozen=True)
class Member:
    customer_id: str
    locale: str
    reach: list[Reach]


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
        .where(Suppression.channel == channel, Suppression.address == ADDRESS[channel])
        .limit(1)
        .scalar_subquery()
    )


def _members(audience: dict[str, Any]) -> Select[Unpack[tuple[Any, ...]]]:  # noqa: UP044
    columns: list[Any] = [Customer.id, Customer.locale]
    for channel in CHANNELS:
        columns += [ADDRESS[channel], _consented(channel), _suppression(channel)]
    stmt = select(*columns).where(Customer.erased_at.is_(None))
    if "problem" in audience:
        return stmt.join(
            DeliveryProblemCustomer, DeliveryProblemCustomer.customer_id == Customer.id
        ).where(DeliveryProblemCustomer.problem_id == audience["problem"])
    components: list[str] = audience.get("components", [])
    follows: ColumnElement[bool] = Subscription.component_id.is_(None)
    if components:
        follows = or_(follows, Subscription.component_id.in_(components))
    return stmt.where(exists().where(and_(Subscription.customer_id == Customer.id, follows)))


async def page(
    session: AsyncSession, audience: dict[str, Any], *, after: str, limit: int
) -> list[Member]:
    stmt = _members(audience).where(Customer.id > after).order_by(Customer.id).limit(limit)
    members = []
    for row in await session.execute(stmt):
        customer_id, locale, *per_channel = row
        reach = [
            Reach(channel, address, bool(consented), suppressed)
            for channel, (address, consented, suppressed) in zip(
                CHANNELS, (per_channel[i : i + 3] for i in range(0, 9, 3)), strict=True
            )
            if address
        ]
        members.append(Member(customer_id, locale, reach))
    return members
