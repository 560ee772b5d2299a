"""Sign-ups and their confirmation: the ``Signup`` row, by link, SMS code or YES reply.

A sign-up stays a ``Signup`` row until its address is confirmed; only then is
there a customer with consent. ``confirm`` makes (or finds) the customer, records
double opt-in consent, and settles every other pending sign-up of the address.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import SubscribeSettings
from notifier import signing, subscribers, suppressions
from notifier.signup.form import Choice
from notifier.statuses import ChannelName, ConsentMethod, SignupKind, SuppressionReason
from notifier.tables import Consent, Customer, Signup, Suppression
from notifier.tables.customers import address_column, set_address

log = logging.getLogger(__name__)

CONFIRM, ALREADY = SignupKind.confirm, SignupKind.already
CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5


async def request(
    session: AsyncSession,
    channel: str,
    address: str,
    choice: Choice,
    *,
    settings: SubscribeSettings,
    secret: str,
    now: datetime,
    customer_id: str | None = None,
) -> Signup:
    """Record a sign-up and its message (sent after the commit: ``enqueue_message``).

    An address suppressed before its customer was erased is suppressed again
    (``suppressions.rearm``, keyed by ``secret``, the ``FOREWARN_SECRET_KEY``): a
    confirmation still lifts an unsubscribe, never a bounce or a STOP.
    """
    await suppressions.rearm(session, secret, channel, address)
    subscribed = await _subscribed_customer(session, channel, address)
    row = Signup(
        kind=ALREADY if subscribed else CONFIRM,
        channel=channel,
        address=address,
        customer_id=subscribed or customer_id,
        page=choice.page,
        components=list(choice.components),
        locale=choice.locale,
        time_zone=choice.time_zone,
        given_name=choice.given_name,
        family_name=choice.family_name,
        attempts=0,
        created_at=now,
        expires_at=now + timedelta(hours=settings.pending_expiry_hours),
    )
    session.add(row)
    await session.flush()
    return row


async def _subscribed_customer(session: AsyncSession, channel: str, address: str) -> str | None:
    found: str | None = await session.scalar(
        select(Customer.id)
        .join(Consent, Consent.customer_id == Customer.id)
        .where(
            _address_is(channel, address),
            Customer.erased_at.is_(None),
            Consent.channel == channel,
            Consent.confirmed_at.is_not(None),
            Consent.revoked_at.is_(None),
        )
        .order_by(Customer.created_at)
        .limit(1)
    )
    return found


def _address_is(channel: str, address: str) -> Any:
    return address_column(channel) == address


async def pending(session: AsyncSession, signup_id: str, *, now: datetime) -> Signup | None:
    """The sign-up if it can still be confirmed."""
    row = await session.get(Signup, signup_id, with_for_update=True)
    if row is None or row.kind != CONFIRM or row.expires_at <= now:
        return None
    return row


async def confirm(session: AsyncSession, row: Signup, *, now: datetime) -> Customer:
    """The address is theirs: make (or find) the customer, record consent, follow."""
    customer = None
    if row.customer_id is not None:
        customer = await session.get(Customer, row.customer_id)
    if customer is None or customer.erased_at is not None:
        customer = await session.scalar(
            select(Customer)
            .where(_address_is(row.channel, row.address), Customer.erased_at.is_(None))
            .order_by(Customer.created_at)
            .limit(1)
        )
    if customer is None:
        customer = Customer(created_at=now)
        set_address(customer, row.channel, row.address)
        session.add(customer)
    customer.locale, customer.time_zone, customer.updated_at = row.locale, row.time_zone, now
    if row.given_name or row.family_name:  # a sign-up without names keeps those known
        customer.given_name, customer.family_name = row.given_name, row.family_name
    await session.flush()
    await subscribers.grant(
        session,
        customer,
        row.channel,
        method=ConsentMethod.double_opt_in,
        legal_basis="confirmed a sign-up on the status page",
        now=now,
    )
    await subscribers.follow(session, customer.id, page=row.page, components=row.components)
    # They asked to come back: an earlier unsubscribe no longer stands in the way.
    await session.execute(
        delete(Suppression).where(
            Suppression.channel == row.channel,
            Suppression.address == row.address,
            Suppression.reason == SuppressionReason.unsubscribe,
        )
    )
    # Every other pending sign-up of the address is settled by this one.
    await session.execute(
        delete(Signup).where(Signup.channel == row.channel, Signup.address == row.address)
    )
    log.info("sign-up %s confirmed by %s", row.id, row.channel)
    return customer


def code_for(secret: str, signup_id: str) -> str:
    """The SMS code of a sign-up (``CODE_DIGITS`` digits, leading zeros kept): derived
    from ``signing.mac`` for purpose ``sms-code``, never stored, so a resend says the same."""
    mac = signing.mac(secret, "sms-code", signup_id)
    return f"{int.from_bytes(mac[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class Verified:
    """What a typed SMS code did: ``customer`` once confirmed, else whether they may
    try again (``retry``)."""

    customer: Customer | None  # set when confirmed
    retry: bool  # a wrong code that may be typed again


async def verify_code(
    session: AsyncSession, signup_id: str, code: str, *, secret: str, now: datetime
) -> Verified:
    """Check ``code`` (digits; anything else typed with them is ignored) against the
    sign-up's: a match confirms it. Each miss counts; after ``MAX_CODE_ATTEMPTS`` or
    once expired, no code is accepted (the row locked FOR UPDATE meanwhile)."""
    row = await session.get(Signup, signup_id, with_for_update=True)
    if row is None or row.expires_at <= now or row.attempts >= MAX_CODE_ATTEMPTS:
        return Verified(None, retry=False)
    typed = "".join(c for c in code if c.isdigit())
    if row.kind == CONFIRM and hmac.compare_digest(typed, code_for(secret, row.id)):
        return Verified(await confirm(session, row, now=now), retry=False)
    # An "already" row never matches, so it reads like any wrong code.
    row.attempts += 1
    return Verified(None, retry=row.attempts < MAX_CODE_ATTEMPTS)


async def confirm_by_reply(session: AsyncSession, phone: str, *, now: datetime) -> bool:
    """A YES from a number with a pending SMS sign-up confirms the newest one."""
    row = await session.scalar(
        select(Signup)
        .where(
            Signup.channel == ChannelName.sms,
            Signup.address == phone,
            Signup.kind == CONFIRM,
            Signup.expires_at > now,
        )
        .order_by(Signup.created_at.desc())
        .limit(1)
    )
    if row is None:
        return False
    await confirm(session, row, now=now)
    return True


async def cancel(session: AsyncSession, signup_id: str) -> None:
    """'Not me': drop the pending sign-ups of the address this one was for."""
    row = await session.get(Signup, signup_id)
    if row is not None:
        await session.execute(
            delete(Signup).where(
                Signup.channel == row.channel,
                Signup.address == row.address,
                Signup.kind == CONFIRM,
            )
        )


@dataclass(frozen=True)
class Swept:
    """What the expiry sweep did: how many sign-ups it purged, and the ids of those
    whose message was never sent (their job was lost)."""

    expired: int
    unsent: list[str]


async def sweep(session: AsyncSession, *, now: datetime, grace: timedelta) -> Swept:
    """Purge expired sign-ups; find messages whose job was lost (to enqueue again)."""
    result = await session.execute(delete(Signup).where(Signup.expires_at <= now))
    unsent = await session.scalars(
        select(Signup.id).where(Signup.sent_at.is_(None), Signup.created_at < now - grace)
    )
    return Swept(expired=int(result.rowcount), unsent=list(unsent))  # type: ignore[attr-defined]
