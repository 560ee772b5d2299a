"""What each customer follows, and their consent per channel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import components
from notifier.schemas.customers import FollowsIn
from notifier.statuses import ChannelName
from notifier.tables import Component, Consent, Customer, Subscription

# The channels a customer can turn on and off from a manage link: the in-app one too
# (the host application shows its users that link: ``InboxPage.manage_url``).
MANAGED_CHANNELS = (ChannelName.email, ChannelName.sms, ChannelName.inapp)


async def set_follows(session: AsyncSession, customer: Customer, follows: FollowsIn) -> None:
    """Replace what the customer follows with ``follows``.

    ``UnknownReference`` (naming ``follows.components[i]``) for a component that does not exist.
    """
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
    """What the manage page shows; None for an unknown or erased customer."""
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
    names: tuple[str | None, str | None] = (None, None),
    only_unresolved: bool = False,
    channel_order: Sequence[str] | None = None,
    now: datetime,
) -> None:
    """Save the manage page's form: follows, locale, IANA time zone, quiet hours (local
    times), (given, family) names, whether to hear only while a problem lasts, and the
    channels to try one after another (None: all at once). The form holds them all, so
    each replaces what was there.

    ``UnknownReference`` as ``set_follows``.
    """
    await set_follows(session, customer, follows)
    customer.locale, customer.time_zone = locale, time_zone
    customer.quiet_hours_start, customer.quiet_hours_end = quiet_hours or (None, None)
    customer.given_name, customer.family_name = names
    customer.only_unresolved = only_unresolved
    customer.channel_order = list(channel_order) if channel_order is not None else None
    customer.updated_at = now


async def unsubscribe_all(session: AsyncSession, customer_id: str, *, now: datetime) -> None:
    """Nothing more by email, SMS or in-app message, nothing followed; the record and its
    history (the in-app inbox too) stay."""
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


async def revoked(session: AsyncSession, customer_id: str, channel: str) -> bool:
    """Whether the customer withdrew their consent for ``channel`` (and has not given it
    again)."""
    found = await session.scalar(
        select(Consent.revoked_at).where(
            Consent.customer_id == customer_id, Consent.channel == channel
        )
    )
    return found is not None


async def revoke(session: AsyncSession, customer_id: str, channel: str, *, now: datetime) -> bool:
    """Withdraw consent for a channel; True if there was consent to withdraw."""
    consent = await session.scalar(
        select(Consent).where(Consent.customer_id == customer_id, Consent.channel == channel)
    )
    if consent is None or consent.revoked_at is not None:
        return False
    consent.revoked_at = now
    return True


@dataclass(frozen=True)
class CustomerProfile:
    """A customer with their consent per channel and what they follow (the ops API's view)."""

    customer: Customer
    consents: tuple[Consent, ...]  # one per channel, by channel name
    follows_page: bool
    follows: tuple[str, ...]  # ids of the components they follow, sorted


async def profiles(session: AsyncSession, customers: Sequence[Customer]) -> list[CustomerProfile]:
    """The customers' profiles, in the order given: two queries, however many customers.

    Flushes first, so that consent and follows changed in this session are read back.
    """
    await session.flush()
    ids = [c.id for c in customers]
    consents: dict[str, list[Consent]] = {i: [] for i in ids}
    follows: dict[str, list[str | None]] = {i: [] for i in ids}
    if ids:
        for consent in await session.scalars(
            select(Consent).where(Consent.customer_id.in_(ids)).order_by(Consent.channel)
        ):
            consents[consent.customer_id].append(consent)
        rows = await session.execute(
            select(Subscription.customer_id, Subscription.component_id).where(
                Subscription.customer_id.in_(ids)
            )
        )
        for row in rows:
            follows[row.customer_id].append(row.component_id)
    return [
        CustomerProfile(
            customer=c,
            consents=tuple(consents[c.id]),
            follows_page=None in follows[c.id],
            follows=tuple(sorted(f for f in follows[c.id] if f is not None)),
        )
        for c in customers
    ]


async def profile(session: AsyncSession, customer: Customer) -> CustomerProfile:
    """One customer's profile (see ``profiles``)."""
    [one] = await profiles(session, [customer])
    return one
