"""Who hears about a notification, read in keyset pages (never the whole audience)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.tables import Consent, Customer, DeliveryProblemCustomer, Subscription, Suppression

CHANNELS = ("email", "sms", "inapp")


@dataclass(frozen=True)
class Member:
    customer_id: str
    locale: str
    addresses: dict[str, str]  # channel -> address
    consented: frozenset[str]


async def page(
    session: AsyncSession, audience: dict[str, Any], *, after: str, limit: int
) -> list[Member]:
    stmt = select(Customer).where(Customer.erased_at.is_(None), Customer.id > after)
    if "problem" in audience:
        stmt = stmt.join(
            DeliveryProblemCustomer, DeliveryProblemCustomer.customer_id == Customer.id
        ).where(DeliveryProblemCustomer.problem_id == audience["problem"])
    else:
        components: list[str] = audience.get("components", [])
        follows: ColumnElement[bool] = Subscription.component_id.is_(None)
        if components:
            follows = or_(follows, Subscription.component_id.in_(components))
        stmt = stmt.where(
            select(Subscription.id).where(Subscription.customer_id == Customer.id, follows).exists()
        )
    rows = (await session.scalars(stmt.order_by(Customer.id).limit(limit))).all()
    if not rows:
        return []
    consent_rows = await session.execute(
        select(Consent.customer_id, Consent.channel).where(
            Consent.customer_id.in_([c.id for c in rows]),
            Consent.confirmed_at.is_not(None),
            Consent.revoked_at.is_(None),
        )
    )
    consented: dict[str, set[str]] = {}
    for customer_id, channel in consent_rows:
        consented.setdefault(customer_id, set()).add(channel)
    return [
        Member(
            customer_id=c.id,
            locale=c.locale,
            addresses={
                channel: address
                for channel, address in (
                    ("email", c.email),
                    ("sms", c.phone),
                    ("inapp", c.inapp_user_id),
                )
                if address
            },
            consented=frozenset(consented.get(c.id, ())),
        )
        for c in rows
    ]


async def suppressed(
    session: AsyncSession, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Which (channel, address) pairs are suppressed, with the reason."""
    if not pairs:
        return {}
    rows = await session.execute(
        select(Suppression.channel, Suppression.address, Suppression.reason).where(
            tuple_(Suppression.channel, Suppression.address).in_(list(pairs))
        )
    )
    return {(channel, address): reason for channel, address, reason in rows}
