"""Subscribing from the public page: double opt-in by emailed link, texted code or YES.

A sign-up stays a ``Signup`` row until its address is confirmed; only then is
there a customer with consent, so nothing but the confirmation message ever
reaches an unconfirmed address (the audience reads confirmed consent only). The
row is also the outbox row of that one message: written in the request's
transaction, sent by an arq job after the commit, re-enqueued by the expiry
sweep if the job was lost. The page answers the same whether or not the address
is subscribed already: a confirmed subscriber gets an ``already`` row, whose
message is their manage link instead of a confirmation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any

import phonenumbers
from pydantic import validate_email
from pydantic_core import PydanticCustomError
from redis.asyncio import Redis
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings, SubscribeSettings
from notifier import links, subscribers
from notifier.delivery.channels.base import (
    Channel,
    Content,
    DeliveryError,
    Outcome,
    Recipient,
    Sent,
)
from notifier.delivery.rendering import render
from notifier.schemas.customers import e164, time_zone
from notifier.statuses import (
    ChannelName,
    ConsentMethod,
    Locale,
    SignupKind,
    SuppressionReason,
)
from notifier.tables import Consent, Customer, Signup, Suppression
from notifier.tables.customers import address_column, set_address

log = logging.getLogger(__name__)

CONFIRM, ALREADY = SignupKind.confirm, SignupKind.already
CHANNELS = (ChannelName.email, ChannelName.sms)
CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5
# Suppressions a confirmation message would only make worse; "unsubscribe" and "stop"
# are no reason to refuse someone who asks to come back.
BLOCKING = (SuppressionReason.bounce, SuppressionReason.spam_report, SuppressionReason.invalid)
_MOBILE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


# --- the form ------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """What they follow and how they like to be told."""

    page: bool
    components: tuple[str, ...]
    locale: str
    time_zone: str


@dataclass(frozen=True)
class Problem:
    """A field's error: an English message (a gettext id) and its parameters."""

    message: str
    params: dict[str, str] = field(default_factory=dict)


class Invalid(Exception):
    """The form has errors, by field name; nothing was changed."""

    def __init__(self, errors: dict[str, Problem]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


Form = Mapping[str, str]


def parse_email(raw: str) -> str:
    """The email address in ``raw``, lower case; ``Invalid`` (field ``email``) if it is
    not one (pydantic's ``validate_email``: RFC 5322 addr-spec, as the ops API)."""
    try:
        _name, email = validate_email(raw.strip())
    except PydanticCustomError:
        raise Invalid({"email": Problem("Enter an email address like name@example.com.")}) from None
    # One spelling per mailbox, as the ops API stores it.
    return email.lower()


def parse_mobile(raw: str, countries: Sequence[str]) -> str:
    """The mobile number in ``raw`` as E.164; ``Invalid`` (field ``phone``) unless it is
    a mobile number (libphonenumber's type) of one of ``countries`` (ISO 3166 codes)."""
    if not countries:
        raise Invalid({"phone": Problem("Text message alerts are not offered; use email.")})
    try:
        number = e164(raw.strip())
    except ValueError:
        raise Invalid(
            {
                "phone": Problem(
                    "Enter a mobile number in international form, like +81 90 1234 5678."
                )
            }
        ) from None
    parsed = phonenumbers.parse(number, None)
    if phonenumbers.region_code_for_number(parsed) not in countries:
        allowed = ", ".join(
            f"{region} (+{phonenumbers.country_code_for_region(region)})" for region in countries
        )
        raise Invalid(
            {
                "phone": Problem(
                    "Text messages can only go to mobile numbers from %(countries)s.",
                    {"countries": allowed},
                )
            }
        )
    if phonenumbers.number_type(parsed) not in _MOBILE:
        raise Invalid({"phone": Problem("This number cannot receive text messages.")})
    return number


def parse_choice(form: Form, components: Collection[str], chosen: Sequence[str]) -> Choice:
    """``chosen``: the component ids ticked (a form field may repeat)."""
    errors: dict[str, Problem] = {}
    page = form.get("scope", "page") != "components"
    picked = tuple(sorted(set(chosen)))
    if not page and (not picked or not set(picked) <= set(components)):
        errors["components"] = Problem("Choose at least one component, or the whole page.")
    if page and picked:
        # Ticks under "everything" are a choice not made yet; guessing either way
        # would subscribe them to what they did not mean.
        errors["components"] = Problem(
            "You ticked components but chose everything on this page: choose one of the two."
        )
    locale = form.get("locale", "")
    if locale not in Locale.__members__:
        errors["locale"] = Problem("Choose a language.")
    zone = form.get("time_zone", "").strip()
    try:
        time_zone(zone)
    except ValueError:
        errors["time_zone"] = Problem("Choose a time zone such as Asia/Tokyo.")
    if errors:
        raise Invalid(errors)
    return Choice(page=page, components=() if page else picked, locale=locale, time_zone=zone)


def parse_address(form: Form, countries: Sequence[str]) -> tuple[str, str]:
    """The channel and its normalised address (lower-case email, E.164 number)."""
    channel = form.get("channel", ChannelName.email)
    if channel == ChannelName.sms:
        return ChannelName.sms, parse_mobile(form.get("phone", ""), countries)
    if channel == ChannelName.email:
        return ChannelName.email, parse_email(form.get("email", ""))
    raise Invalid({"channel": Problem("Choose email or text message.")})


def parse_quiet_hours(form: Form) -> tuple[clock, clock] | None:
    """``quiet_start`` and ``quiet_end`` (HH:MM, local): both, or neither for none."""
    start, end = form.get("quiet_start", "").strip(), form.get("quiet_end", "").strip()
    if not start and not end:
        return None
    try:
        hours = clock.fromisoformat(start), clock.fromisoformat(end)
    except ValueError:
        hours = None
    if hours is None or hours[0] == hours[1]:
        raise Invalid(
            {"quiet_hours": Problem("Give a start and an end time, such as 22:00 and 07:00.")}
        )
    return hours[0].replace(second=0, microsecond=0), hours[1].replace(second=0, microsecond=0)


def mask(channel: str, address: str) -> str:
    """Enough of an address to recognise it, on a page that anyone with the link sees."""
    if channel == ChannelName.email:
        local, _, domain = address.partition("@")
        return f"{local[:2]}…@{domain}"
    return f"{address[:3]}…{address[-4:]}"


# --- sign-ups and confirmation ------------------------------------------------------------


async def request(
    session: AsyncSession,
    channel: str,
    address: str,
    choice: Choice,
    *,
    settings: SubscribeSettings,
    now: datetime,
    customer_id: str | None = None,
) -> Signup:
    """Record a sign-up and its message (sent after the commit: ``enqueue_message``)."""
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
    """The SMS code of a sign-up: derived, never stored, so a resend says the same."""
    key = hmac.new(secret.encode(), b"forewarn:sms-code", hashlib.sha256).digest()
    mac = hmac.new(key, signup_id.encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class Verified:
    """What a typed SMS code did."""

    customer: Customer | None  # set when confirmed
    retry: bool  # a wrong code that may be typed again


async def verify_code(
    session: AsyncSession, signup_id: str, code: str, *, secret: str, now: datetime
) -> Verified:
    """Check a typed SMS code (digits only count); confirms the sign-up when right.
    After ``MAX_CODE_ATTEMPTS`` wrong ones the sign-up takes no more."""
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
    """What a sweep did: sign-ups purged, and ids of those whose message was never sent."""

    expired: int
    unsent: list[str]


async def sweep(session: AsyncSession, *, now: datetime, grace: timedelta) -> Swept:
    """Purge expired sign-ups; find messages whose job was lost (to enqueue again)."""
    result = await session.execute(delete(Signup).where(Signup.expires_at <= now))
    unsent = await session.scalars(
        select(Signup.id).where(Signup.sent_at.is_(None), Signup.created_at < now - grace)
    )
    return Swept(expired=int(result.rowcount), unsent=list(unsent))  # type: ignore[attr-defined]


# --- the message ---------------------------------------------------------------------------


def _event(row: Signup) -> str:
    return "signup_confirm" if row.kind == CONFIRM else "signup_already"


def compose(row: Signup, settings: Settings) -> tuple[Content, Recipient]:
    """The sign-up's message (a confirmation, or the manage link for ``already``) and
    its recipient (delivery id 0: no delivery row)."""
    secret = settings.secret_key.get_secret_value()
    public = str(settings.public_url).rstrip("/")
    context: dict[str, Any] = {
        "page_name": settings.page_name,
        "url": public + "/",
        "hours": f"{settings.subscribe.pending_expiry_hours:g}",
    }
    if row.kind == CONFIRM:
        context["confirm_url"] = (
            f"{public}/subscribe/confirm/{links.dumps(secret, 'confirm', row.id)}"
        )
        context["code"] = code_for(secret, row.id)
        # A confirmation's 'unsubscribe' (the mail client's button) withdraws the sign-up.
        unsubscribe = links.sign(secret, "cancel-signup", row.id)
    else:
        assert row.customer_id is not None
        manage = links.manage_token(secret, row.customer_id, row.channel)
        context["manage_url"] = f"{public}/manage/{manage}"
        unsubscribe = links.sign(secret, "unsubscribe", f"{row.customer_id}:{row.channel}")
    content = render(_event(row), row.channel, row.locale, context)
    # Delivery id 0: no delivery row, so provider events about it match none.
    recipient = Recipient(
        0, row.address, {"unsubscribe_url": f"{public}/unsubscribe/{unsubscribe}"}
    )
    return content, recipient


async def send_message(
    sessions: async_sessionmaker[AsyncSession],
    channels: Mapping[str, Channel],
    settings: Settings,
    signup_id: str,
    *,
    now: datetime,
) -> Outcome | None:
    """Send a sign-up's message once; None if there is nothing (more) to send."""
    async with sessions() as session:
        row = await session.get(Signup, signup_id)
        if row is None or row.sent_at is not None or row.expires_at <= now:
            return None
        blocked = await session.scalar(
            select(Suppression.reason).where(
                Suppression.channel == row.channel,
                Suppression.address == row.address,
                Suppression.reason.in_(BLOCKING),
            )
        )
    if blocked:
        outcome: Outcome = DeliveryError.suppressed_address(blocked)
    else:
        content, recipient = compose(row, settings)
        [outcome] = await channels[row.channel].send(content, [recipient])
    if isinstance(outcome, Sent) or outcome.permanent:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Signup)
                .where(Signup.id == signup_id, Signup.sent_at.is_(None))
                .values(sent_at=now)
            )
    if isinstance(outcome, Sent):
        log.info("sign-up %s: %s message sent by %s", row.id, row.kind, row.channel)
    else:
        log.warning("sign-up %s: %s message by %s: %s", row.id, row.kind, row.channel, outcome)
    return outcome


# --- abuse limits ----------------------------------------------------------------------------


class Limits:
    """Sign-ups per IP and messages per address, counted in Redis in fixed windows.

    Keys hold an HMAC of the IP or address, never the thing itself.
    """

    def __init__(self, redis: Redis, settings: SubscribeSettings, secret: str) -> None:
        self._redis = redis
        self._settings = settings
        self._key = hmac.new(secret.encode(), b"forewarn:signup-limits", hashlib.sha256).digest()

    async def allow_ip(self, channel: str, ip: str) -> bool:
        """Count a sign-up on ``channel`` from ``ip``; False once over its limit."""
        s = self._settings
        limit, hours = (
            (s.sms_per_ip, s.sms_per_ip_hours)
            if channel == ChannelName.sms
            else (s.email_per_ip, s.email_per_ip_hours)
        )
        return await self._hit(f"ip:{channel}", ip, limit, hours)

    async def allow_destination(self, address: str) -> bool:
        """Count a message to ``address``; False once over its limit."""
        s = self._settings
        return await self._hit("to", address, s.per_destination, s.per_destination_hours)

    async def _hit(self, kind: str, value: str, limit: int, hours: float) -> bool:
        seconds = max(1, round(hours * 3600))
        window = int(time.time() // seconds)
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]
        key = f"forewarn:signup:{kind}:{digest}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, seconds + 60)
            count, _ = await pipe.execute()
        return int(count) <= limit
