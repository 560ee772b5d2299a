"""What each customer follows, and their consent per channel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import components
from notifier.schemas.customers import ConsentOut, CustomerOut, FollowsIn, FollowsOut
from notifier.statuses import ChannelName
from notifier.tables import Component, Consent, Customer, Subscription

# The channels a customer can manage from a link (in-app belongs to the host app).
MANAGED_CHANNELS = (ChannelName.email, ChannelName.sms)


async def set_follows(session: AsyncSession, customer: Customer, follows: FollowsIn) -> None:
    """Replace what the customer follows; ``InvalidField`` (``follows.components``) for an
    unknown component."""
    await components.components_for_field(session, follows.components, "follows.components")
    await session.execute(delete(Subscription).where(Subscription.customer_id == customer.id))
    ids: list[str | None] = [None] if follows.page else []
    ids += sorted(set(follows.components))
    session.add_all(Subscription(customer_id=customer.id, component_id=c) for c in ids)


async def follow(
    session: AsyncSession, customer_id: str, *, page: bool, components: Iterable[str]
) -> None:
    """Add to what they follow (components deleted meanwhile are skipped)."""
    have = set(
        (
            await session.scalars(
                select(Subscription.component_id).where(Subscription.customer_id == customer_id)
            )
        ).all()
    )
    wanted: list[str | None] = [None] if page else []
    if components:
        wanted += (
            await session.scalars(select(Component.id).where(Component.id.in_(list(components))))
        ).all()
    session.add_all(
        Subscription(customer_id=customer_id, component_id=c) for c in wanted if c not in have
    )


async def unfollow(session: AsyncSession, customer_id: str, component_id: str | None) -> None:
    """Stop following one component (None: the whole page)."""
    target = (
        Subscription.component_id.is_(None)
        if component_id is None
        else Subscription.component_id == component_id
    )
    await session.execute(
        delete(Subscription).where(Subscription.customer_id == customer_id, target)
    )


@dataclass(frozen=True)
class Preferences:
    """What a manage page shows: the customer, channels in use, what they follow."""

    customer: Customer
    active: frozenset[str]
    page: bool
    components: frozenset[str]


async def preferences(session: AsyncSession, customer_id: str) -> Preferences | None:
    """What a manage page shows of the customer; None if unknown or erased."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        return None
    active = (
        await session.scalars(
            select(Consent.channel).where(
                Consent.customer_id == customer_id,
                Consent.confirmed_at.is_not(None),
                Consent.revoked_at.is_(None),
            )
        )
    ).all()
    follows = (
        await session.scalars(
            select(Subscription.component_id).where(Subscription.customer_id == customer_id)
        )
    ).all()
    return Preferences(
        customer=customer,
        active=frozenset(active),
        page=None in follows,
        components=frozenset(c for c in follows if c is not None),
    )


async def set_preferences(
    session: AsyncSession,
    customer: Customer,
    *,
    follows: FollowsIn,
    locale: str,
    time_zone: str,
    quiet_hours: tuple[time, time] | None,
    now: datetime,
) -> None:
    """Save a manage page: what they follow, language, time zone and quiet hours (local times;
    None for none)."""
    await set_follows(session, customer, follows)
    customer.locale, customer.time_zone = locale, time_zone
    customer.quiet_hours_start, customer.quiet_hours_end = quiet_hours or (None, None)
    customer.updated_at = now


async def unsubscribe_all(session: AsyncSession, customer_id: str, *, now: datetime) -> None:
    """Nothing more by email or SMS, nothing followed; the record and its history stay."""
    for channel in MANAGED_CHANNELS:
        await revoke(session, customer_id, channel, now=now)
    await session.execute(delete(Subscription).where(Subscription.customer_id == customer_id))


async def grant(
    session: AsyncSession,
    customer: Customer,
    channel: str,
    *,
    method: str,
    legal_basis: str = "",
    now: datetime,
) -> Consent:
    """Record confirmed consent for a channel (a revoked one is granted anew)."""
    consent = await session.scalar(
        select(Consent).where(Consent.customer_id == customer.id, Consent.channel == channel)
    )
    if consent is None:
        consent = Consent(customer_id=customer.id, channel=channel, created_at=now)
        session.add(consent)
    if consent.confirmed_at is None or consent.revoked_at is not None:
        consent.method = method
        consent.legal_basis = legal_basis
        consent.confirmed_at = now
        consent.revoked_at = None
    return consent


async def revoke(session: AsyncSession, customer_id: str, channel: str, *, now: datetime) -> bool:
    """Withdraw consent for a channel; True if there was consent to withdraw."""
    consent = await session.scalar(
        select(Consent).where(Consent.customer_id == customer_id, Consent.channel == channel)
    )
    if consent is None or consent.revoked_at is not None:
        return False
    consent.revoked_at = now
    return True


async def customer_out(session: AsyncSession, customer: Customer) -> CustomerOut:
    """The ops API's view of the customer, with consents and follows."""
    await session.flush()
    consents: Sequence[Consent] = (
        await session.scalars(
            select(Consent).where(Consent.customer_id == customer.id).order_by(Consent.channel)
        )
    ).all()
    follows = (
        await session.scalars(
            select(Subscription.component_id).where(Subscription.customer_id == customer.id)
        )
    ).all()
    return CustomerOut(
        id=customer.id,
        external_id=customer.external_id or "",
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        inapp_user_id=customer.inapp_user_id,
        locale=customer.locale,
        time_zone=customer.time_zone,
        consent=[ConsentOut.model_validate(c) for c in consents],
        follows=FollowsOut(
            page=None in follows, components=sorted(c for c in follows if c is not None)
        ),
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )
