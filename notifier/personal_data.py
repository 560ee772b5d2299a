"""What Forewarn holds about one customer: read out whole (GDPR Art. 15 and 20), or
erased (Art. 17). One module, so that the list of what is personal is one list.

Personal data about a customer, wherever it is kept (``export`` reads it all):

- the customer row: external_id, name, email, phone, in-app user id, locale,
  time zone, quiet hours, when created and changed;
- consent per channel (method, legal basis, given, confirmed, withdrawn) and what
  they follow (the page, components);
- sign-ups in flight for their email or phone (or made from their manage link);
- suppressions of their email or phone (bounce, spam report, STOP...);
- every delivery to them (channel, status, attempts, provider id, last error, times);
- their in-app inbox messages (title, body, link, read_at);
- dev outbox messages of their deliveries or to their addresses (what would
  have been sent, whole);
- the delivery problems that name them (their order's reference, kind, status);
- audit entries about them (which key changed which fields of their record, when:
  the names of the fields, never values);
- the rating prompts they were sent, their ratings (score, comment, channel), the
  follow-ups of their low ratings (with ops' notes) and the contacts with support a
  helpdesk recorded for them (``notifier.care``).

``erase`` removes it, keeping what counts need and nothing that names them:

- the customer row keeps its id, ``created_at`` and ``erased_at``: names, email,
  phone, in-app user id and ``external_id`` become null, locale and time zone go
  back to the defaults, quiet hours to none (a time zone says where someone lives);
- what they follow is deleted; their consents are revoked and kept (channel,
  method, legal basis, times: how many agreed, and how, with no one to name);
- deliveries keep notification, channel, status, attempts, segments and times,
  so every notification's counts are unchanged; ``last_error`` (a provider's
  bounce text quotes the address) and ``provider_id`` (a key to the provider's
  own log of the address) become null;
- in-app inbox messages addressed to them, dev outbox messages of their
  deliveries or to their addresses, and sign-ups in flight for their addresses
  are deleted: each is a copy of a message to them or of their address;
- suppressions of their addresses keep only a keyed hash of the address
  (``notifier.suppressions``): we must go on honouring a bounce or a STOP should
  the address come back (Art. 17(3)(b), 21(3)), and need not know whose it was;
- a remembered ``Idempotency-Key`` answer that lists them among a delivery
  problem's customers shows ``(erased)`` there, as reading the problem does;
- the audit log keeps its entries (they hold no values), the delivery-problem
  links stay (a problem still counts the customers it affected);
- ratings keep their score, scale, channel and times, follow-ups their times and
  who closed them, contacts their subject, channel and time (the reports' counts:
  response rates, CSAT/NPS/CES, heard-from-us-first); a rating's comment and a
  follow-up's note (free text about them) become null, and so does a contact's
  ``external_id`` (a key to the helpdesk's own record of them). A remembered
  answer of a follow-up or a contact that shows them is scrubbed likewise.

An address another customer (not erased) also has is theirs too: its
suppressions, sign-ups and outbox messages are left for them. Free text that ops
wrote (an incident or problem title, an update body) is not searched for names.
Once erased, the external_id names no one (it may be given to a new customer):
neither ``export`` nor the timeline finds the erased customer by it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import suppressions
from notifier.customers import get_customer
from notifier.statuses import ChannelName
from notifier.tables import (
    AuditEntry,
    Component,
    Consent,
    Contact,
    Customer,
    Delivery,
    DeliveryProblem,
    DeliveryProblemCustomer,
    FollowUp,
    IdempotencyRecord,
    InboxMessage,
    OutboxMessage,
    Rating,
    RatingPrompt,
    Signup,
    Subscription,
    Suppression,
)
from notifier.tables.customers import address_column, address_of

# What a delivery problem lists for an erased customer (as status_page's ProblemOut).
ERASED = "(erased)"
# The channels whose addresses are suppressed, signed up and kept by the dev outbox.
_ADDRESSED = (ChannelName.email, ChannelName.sms)

Address = tuple[str, str]  # (channel, address)


@dataclass(frozen=True)
class Followed:
    """One thing a customer follows: a component (id and name), or the whole page (None)."""

    component_id: str | None
    component_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class ProblemNamed:
    """A delivery problem that names the customer (its updates are ops' text, not theirs)."""

    id: str
    reference: str
    kind: str
    status: str
    title: str
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class PersonalData:
    """Everything held about one customer (see the module), each list oldest first."""

    customer: Customer
    consents: Sequence[Consent]
    follows: Sequence[Followed]
    signups: Sequence[Signup]
    suppressions: Sequence[Suppression]
    deliveries: Sequence[Delivery]
    inbox: Sequence[InboxMessage]
    outbox: Sequence[OutboxMessage]
    problems: Sequence[ProblemNamed]
    audit: Sequence[AuditEntry]
    prompts: Sequence[RatingPrompt]
    ratings: Sequence[Rating]
    follow_ups: Sequence[FollowUp]
    contacts: Sequence[Contact]


async def export(session: AsyncSession, external_id: str) -> PersonalData:
    """Everything held about the customer known by ``external_id``, in fourteen queries
    whatever they hold; ``NotFound`` for an unknown (or erased) external_id."""
    customer = await get_customer(session, external_id)
    addresses = [
        (channel.value, address)
        for channel in _ADDRESSED
        if (address := address_of(customer, channel)) is not None
    ]
    deliveries = select(Delivery.id).where(Delivery.customer_id == customer.id)
    inbox: ColumnElement[bool] = InboxMessage.delivery_id.in_(deliveries)
    if customer.inapp_user_id:
        inbox = or_(inbox, InboxMessage.user_id == customer.inapp_user_id)

    async def rows(stmt: Any) -> Sequence[Any]:
        return (await session.scalars(stmt)).all()

    follows = await session.execute(
        select(Subscription.component_id, Component.name, Subscription.created_at)
        .outerjoin(Component, Component.id == Subscription.component_id)
        .where(Subscription.customer_id == customer.id)
        .order_by(Subscription.created_at, Subscription.id)
    )
    problems = await session.execute(
        select(
            DeliveryProblem.id,
            DeliveryProblem.reference,
            DeliveryProblem.kind,
            DeliveryProblem.status,
            DeliveryProblem.title,
            DeliveryProblem.created_at,
            DeliveryProblem.resolved_at,
        )
        .join(DeliveryProblemCustomer, DeliveryProblemCustomer.problem_id == DeliveryProblem.id)
        .where(DeliveryProblemCustomer.customer_id == customer.id)
        .order_by(DeliveryProblem.created_at, DeliveryProblem.id)
    )
    return PersonalData(
        customer=customer,
        consents=await rows(
            select(Consent).where(Consent.customer_id == customer.id).order_by(Consent.channel)
        ),
        follows=[Followed(*row) for row in follows],
        signups=await rows(
            select(Signup)
            .where(
                or_(
                    Signup.customer_id == customer.id,
                    _pairs(Signup.channel, Signup.address, addresses),
                )
            )
            .order_by(Signup.created_at, Signup.id)
        ),
        suppressions=await rows(
            select(Suppression)
            .where(_pairs(Suppression.channel, Suppression.address, addresses))
            .order_by(Suppression.created_at, Suppression.id)
        ),
        deliveries=await rows(
            select(Delivery).where(Delivery.customer_id == customer.id).order_by(Delivery.id)
        ),
        inbox=await rows(select(InboxMessage).where(inbox).order_by(InboxMessage.id)),
        outbox=await rows(
            select(OutboxMessage)
            .where(
                or_(
                    OutboxMessage.delivery_id.in_(deliveries),
                    _pairs(OutboxMessage.channel, OutboxMessage.to, addresses),
                )
            )
            .order_by(OutboxMessage.id)
        ),
        problems=[ProblemNamed(*row) for row in problems],
        audit=await rows(
            select(AuditEntry)
            .where(AuditEntry.target_type == "customer", AuditEntry.target_id == customer.id)
            .order_by(AuditEntry.at, AuditEntry.id)
        ),
        prompts=await rows(
            select(RatingPrompt)
            .where(RatingPrompt.customer_id == customer.id)
            .order_by(RatingPrompt.created_at, RatingPrompt.id)
        ),
        ratings=await rows(
            select(Rating).where(Rating.customer_id == customer.id).order_by(Rating.id)
        ),
        follow_ups=await rows(
            select(FollowUp)
            .where(FollowUp.rating_id.in_(_ratings_of(customer.id)))
            .order_by(FollowUp.created_at, FollowUp.id)
        ),
        contacts=await rows(
            select(Contact)
            .where(Contact.customer_id == customer.id)
            .order_by(Contact.contacted_at, Contact.id)
        ),
    )


def _ratings_of(customer_id: str) -> Select[int]:
    return select(Rating.id).where(Rating.customer_id == customer_id)


async def erase(session: AsyncSession, external_id: str, *, secret: str, now: datetime) -> Customer:
    """Erase the customer known by ``external_id`` as the module says; returns the row
    (id and ``erased_at`` kept). ``NotFound`` for an unknown (or erased) external_id.
    ``secret`` is ``FOREWARN_SECRET_KEY``, which keys the suppressions' hashes."""
    customer = await get_customer(session, external_id)
    own = await _own_addresses(session, customer)
    deliveries = select(Delivery.id).where(Delivery.customer_id == customer.id)

    inbox: ColumnElement[bool] = InboxMessage.delivery_id.in_(deliveries)
    if customer.inapp_user_id:  # unique to them
        inbox = or_(inbox, InboxMessage.user_id == customer.inapp_user_id)
    await session.execute(delete(InboxMessage).where(inbox))
    await session.execute(
        delete(OutboxMessage).where(
            or_(
                OutboxMessage.delivery_id.in_(deliveries),
                _pairs(OutboxMessage.channel, OutboxMessage.to, own),
            )
        )
    )
    await session.execute(
        delete(Signup).where(
            or_(Signup.customer_id == customer.id, _pairs(Signup.channel, Signup.address, own))
        )
    )
    await suppressions.forget(session, secret, own)
    await session.execute(
        update(Delivery)
        .where(Delivery.customer_id == customer.id)
        .values(last_error=None, provider_id=None)
    )
    await session.execute(
        update(Rating).where(Rating.customer_id == customer.id).values(comment=None)
    )
    await session.execute(
        update(FollowUp)
        .where(FollowUp.rating_id.in_(_ratings_of(customer.id)))
        .values(done_note=None)
    )
    await session.execute(
        update(Contact).where(Contact.customer_id == customer.id).values(external_id=None)
    )
    await _scrub_replays(session, external_id)
    await session.execute(delete(Subscription).where(Subscription.customer_id == customer.id))
    await session.execute(
        update(Consent)
        .where(Consent.customer_id == customer.id, Consent.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    customer.external_id = None
    customer.given_name = customer.family_name = None
    customer.email = customer.phone = customer.inapp_user_id = None
    customer.locale, customer.time_zone = "en", "UTC"
    customer.quiet_hours_start = customer.quiet_hours_end = None
    customer.erased_at = customer.updated_at = now
    await session.flush()
    return customer


async def _own_addresses(session: AsyncSession, customer: Customer) -> list[Address]:
    """The customer's email and phone, less those another live customer has too."""
    own = []
    for channel in _ADDRESSED:
        address = address_of(customer, channel)
        if address is None:
            continue
        shared = await session.scalar(
            select(Customer.id).where(
                address_column(channel) == address,
                Customer.id != customer.id,
                Customer.erased_at.is_(None),
            )
        )
        if shared is None:
            own.append((channel.value, address))
    return own


def _pairs(channel: Any, address: Any, pairs: list[Address]) -> ColumnElement[bool]:
    """``(channel, address) IN pairs`` as ORs (false for none)."""
    if not pairs:
        return false()
    return or_(*(and_(channel == c, address == a) for c, a in pairs))


async def _scrub_replays(session: AsyncSession, external_id: str) -> None:
    """Remembered answers that show ``external_id``: a problem's ``customers`` list, a
    follow-up's ``customer`` (with the comment and note), a contact's ``customer``."""
    quoted = json.dumps(external_id)
    records = await session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.body.contains(quoted, autoescape=True))
    )
    for record in records:
        try:
            body = json.loads(record.body)
        except ValueError:
            continue
        if not isinstance(body, dict):
            continue
        if isinstance(body.get("customers"), list):
            body["customers"] = [ERASED if c == external_id else c for c in body["customers"]]
        shown = body.get("customer")
        if shown == external_id:  # a contact
            body["customer"] = None
            body["external_id"] = None
        elif isinstance(shown, dict) and shown.get("external_id") == external_id:
            body["customer"] = {**dict.fromkeys(shown), "locale": "en"}
            body["comment"] = body["done_note"] = None
        record.body = json.dumps(body, separators=(",", ":"))
