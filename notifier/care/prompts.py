"""Rating prompts: who is asked, on which channel, and when (issue 13, "Rating prompts").

A periodic tick (``make_due``, run every minute by the worker) finds each incident
and delivery problem (and completed maintenance, with ``ratings.after_maintenance``)
resolved at least ``ratings.delay_minutes`` ago, and asks every customer who received
a delivery about it (sent or delivered: not held, folded, suppressed or failed only)
once. A subject reopened within the delay is not resolved then, so nothing is due
until its next resolution, whose time the delay counts from. The database is the
schedule: a restart, or a lost Redis, only makes a prompt a tick late; the unique
(customer, subject) key keeps it to one.

Each prompt goes by one channel: the first of the customer's ``channel_order`` with an
address, consent and no suppression; for a customer without an order, ``DEFAULT_ORDER``
(email first: a score link is one click and costs nothing, in-app next, SMS last since
texts cost money). SMS only when the page texts the rating event (``delivery.
sms_events``). A customer with no such channel gets a ``cancelled`` prompt: decided, not
looked at again. The prompts of one subject ride on one notification (event
``<subject>_rating``, audience ``AudienceRule.of_prompts``): the delivery engine then
applies quiet hours, retries, consent and suppression as to any message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier import notifications
from notifier.audience_rule import AudienceRule
from notifier.events import RATING, rating_of
from notifier.scales import PromptStatus, Subject
from notifier.statuses import (
    ChannelName,
    DeliveryStatus,
    IncidentStatus,
    MaintenanceStatus,
    ProblemStatus,
)
from notifier.tables import (
    Consent,
    Customer,
    Delivery,
    DeliveryProblem,
    DeliveryProblemUpdate,
    Incident,
    IncidentUpdate,
    Notification,
    RatingPrompt,
    Suppression,
)
from notifier.tables.customers import address_of

# For customers who did not order their channels (see the module's text).
DEFAULT_ORDER = (ChannelName.email, ChannelName.inapp, ChannelName.sms)
# A subject resolved longer ago than the delay plus this is no longer asked about (a
# worker down for days does not send week-old questions when it comes back).
CATCH_UP = timedelta(days=1)
# Deliveries that reached the customer: they were told about the subject.
REACHED = (DeliveryStatus.sent, DeliveryStatus.delivered)
KIND = "rating_prompt"


@dataclass(frozen=True)
class _Due:
    subject: Subject
    subject_id: str
    resolved_at: datetime
    update_id: str


async def make_due(session: AsyncSession, settings: Settings, *, now: datetime) -> list[str]:
    """Make the prompts now due and the notifications that carry them; returns the
    notifications' ids (their fan-out is enqueued after the commit, as
    ``notifications.created_in`` tells). The caller commits."""
    delay = timedelta(minutes=settings.ratings.delay_minutes)
    made = []
    for due in await _due_subjects(
        session, settings, upto=now - delay, since=now - delay - CATCH_UP
    ):
        notification_id = await _prompt(session, settings, due, delay=delay, now=now)
        if notification_id is not None:
            made.append(notification_id)
    return made


async def _due_subjects(
    session: AsyncSession, settings: Settings, *, upto: datetime, since: datetime
) -> list[_Due]:
    """Subjects resolved in (since, upto] with somebody reached and not yet decided."""
    kinds = [(Subject.incident, IncidentStatus.resolved.value)]
    if settings.ratings.after_maintenance:
        kinds.append((Subject.maintenance, MaintenanceStatus.completed.value))
    found: list[_Due] = []
    for subject, status in kinds:
        rows = await session.execute(
            select(Incident.id, Incident.resolved_at).where(
                Incident.kind == subject.value,
                Incident.status == status,
                Incident.resolved_at > since,
                Incident.resolved_at <= upto,
                _undecided(subject, Incident.id),
            )
        )
        for row in rows:
            update_id = await session.scalar(
                select(IncidentUpdate.id)
                .where(IncidentUpdate.incident_id == row.id)
                .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())
                .limit(1)
            )
            if update_id is not None:
                found.append(_Due(subject, row.id, row.resolved_at, update_id))
    rows = await session.execute(
        select(DeliveryProblem.id, DeliveryProblem.resolved_at).where(
            DeliveryProblem.status == ProblemStatus.resolved,
            DeliveryProblem.resolved_at > since,
            DeliveryProblem.resolved_at <= upto,
            _undecided(Subject.problem, DeliveryProblem.id),
        )
    )
    for row in rows:
        update_id = await session.scalar(
            select(DeliveryProblemUpdate.id)
            .where(DeliveryProblemUpdate.problem_id == row.id)
            .order_by(DeliveryProblemUpdate.created_at.desc(), DeliveryProblemUpdate.id.desc())
            .limit(1)
        )
        if update_id is not None:
            found.append(_Due(Subject.problem, row.id, row.resolved_at, update_id))
    return found


def _reached(subject_id: Any) -> Any:
    """Deliveries about ``subject_id`` that reached their customer (not a prompt's)."""
    return (
        select(Delivery.customer_id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Notification.subject_id == subject_id,
            Notification.event.not_in(RATING),
            Delivery.status.in_(REACHED),
        )
    )


def _undecided(subject: Subject, subject_id: Any) -> Any:
    """Somebody reached about the subject has no prompt about it yet."""
    reached = _reached(subject_id).add_columns(Delivery.id).subquery()
    decided = exists().where(
        RatingPrompt.customer_id == reached.c.customer_id,
        RatingPrompt.subject_type == subject.value,
        RatingPrompt.subject_id == subject_id,
    )
    return exists(select(reached.c.customer_id).where(~decided))


async def _prompt(
    session: AsyncSession, settings: Settings, due: _Due, *, delay: timedelta, now: datetime
) -> str | None:
    """The prompts about one subject; the id of the notification carrying them (None:
    nobody has a channel for one)."""
    already = select(RatingPrompt.customer_id).where(
        RatingPrompt.subject_type == due.subject.value,
        RatingPrompt.subject_id == due.subject_id,
    )
    customers = list(
        await session.scalars(
            select(Customer).where(
                Customer.id.in_(_reached(due.subject_id)),
                Customer.id.not_in(already),
                Customer.erased_at.is_(None),
            )
        )
    )
    if not customers:
        return None
    event = rating_of(due.subject)
    choices = await _channels(session, customers, texts=event in settings.delivery.sms_events)
    notification = None
    if any(choices.values()):
        notification = notifications.add(
            session,
            kind=KIND,
            event=event,
            subject_id=due.subject_id,
            update_id=due.update_id,
            audience=AudienceRule(),
            now=now,
        )
        notification.audience = AudienceRule.of_prompts(notification.id)
    expires = now + timedelta(days=settings.ratings.link_days)
    for customer in customers:
        channel = choices[customer.id]
        session.add(
            RatingPrompt(
                customer_id=customer.id,
                subject_type=due.subject.value,
                subject_id=due.subject_id,
                scale=settings.ratings.scale,
                channel=channel or "",
                status=PromptStatus.sent if channel else PromptStatus.cancelled,
                due_at=due.resolved_at + delay,
                notification_id=notification.id if notification and channel else None,
                sent_at=now if channel else None,
                expires_at=expires if channel else None,
                created_at=now,
            )
        )
    await session.flush()
    return notification.id if notification is not None else None


async def _channels(
    session: AsyncSession, customers: Sequence[Customer], *, texts: bool
) -> dict[str, str | None]:
    """Customer id -> the channel their prompt goes by (None: none will do); ``texts``:
    whether SMS may be one."""
    ids = [c.id for c in customers]
    consented = {
        (row.customer_id, row.channel)
        for row in await session.execute(
            select(Consent.customer_id, Consent.channel).where(
                Consent.customer_id.in_(ids),
                Consent.confirmed_at.is_not(None),
                Consent.revoked_at.is_(None),
            )
        )
    }
    addresses = {(channel, address_of(c, channel)) for c in customers for channel in ChannelName}
    suppressed = {
        (row.channel, row.address)
        for row in await session.execute(
            select(Suppression.channel, Suppression.address).where(
                and_(
                    Suppression.address.in_({a for _c, a in addresses if a}),
                    Suppression.channel.in_({c for c, _a in addresses}),
                )
            )
        )
    }
    chosen: dict[str, str | None] = {}
    for customer in customers:
        order = customer.channel_order or list(DEFAULT_ORDER)
        chosen[customer.id] = None
        for channel in order:
            address = address_of(customer, channel) if channel in ChannelName.__members__ else None
            if (
                address
                and (customer.id, channel) in consented
                and (channel, address) not in suppressed
                and (channel != ChannelName.sms or texts)
            ):
                chosen[customer.id] = channel
                break
    return chosen
