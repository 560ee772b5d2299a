"""What each customer follows, and their consent per channel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import components
from notifier.schemas.customers import ConsentOut, CustomerOut, FollowsIn, FollowsOut
from notifier.tables import Consent, Customer, Subscription


async def set_follows(session: AsyncSession, customer: Customer, follows: FollowsIn) -> None:
    await components.components_for_field(session, follows.components, "follows.components")
    await session.execute(delete(Subscription).where(Subscription.customer_id == customer.id))
    ids: list[str | None] = [None] if follows.page else []
    ids += sorted(set(follows.components))
    session.add_all(Subscription(customer_id=customer.id, component_id=c) for c in ids)


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
