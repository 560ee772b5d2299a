"""One customer's timeline: every notification they were part of, with each delivery,
and on a rating prompt's, their answer.

A customer was part of a notification when it has a delivery to them (fan-out
made one per channel they are reachable on). Each entry says what the
notification was about (its kind, the subject's id and title, the update's status
and time) and how each channel's delivery went: its status as the row has it,
its last error (the provider's reason, or ``address suppressed: <reason>``), attempts and
times, and when the in-app message was read. Email opens are not recorded
(Forewarn asks SendGrid for no open tracking), so only in-app messages have a
``read_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.pagination import paginate
from notifier.tables import (
    Delivery,
    DeliveryProblem,
    DeliveryProblemUpdate,
    InboxMessage,
    Incident,
    IncidentUpdate,
    Notification,
    Rating,
    RatingPrompt,
)


@dataclass(frozen=True)
class Sent:
    """One delivery of the notification to the customer, and when its in-app message
    was read (None: unread, or not an in-app message)."""

    delivery: Delivery
    read_at: datetime | None


@dataclass(frozen=True)
class Entry:
    """One notification the customer was part of.

    ``subject_title``: the incident's or maintenance's title, a problem's title (its
    reference when untitled); None if the subject is gone. ``update_status`` and
    ``update_at``: the update's status and when it was posted; None likewise.
    ``deliveries``: by channel name. ``rating``: on a rating prompt's notification, the
    customer's answer to it (its latest score and comment), None while unanswered.
    """

    notification: Notification
    subject_title: str | None
    update_status: str | None
    update_at: datetime | None
    deliveries: tuple[Sent, ...]
    rating: Rating | None = None  # a rating prompt's: the customer's answer, if any


async def page(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Entry], str | None]:
    """A page of at most ``limit`` entries of the customer's timeline, newest first, and
    the next page's cursor (None at the end). Five queries whatever ``limit`` (one when
    the page is empty). ``InvalidField`` for a cursor this API did not hand out.

    Takes the customer's internal id: an erased customer's anonymous history reads
    the same, with the errors and provider ids erasure took out.
    """
    theirs = exists().where(
        Delivery.notification_id == Notification.id, Delivery.customer_id == customer_id
    )
    notifications, next_cursor = await paginate(
        session,
        select(Notification).where(theirs),
        Notification.created_at,
        Notification.id,
        limit=limit,
        cursor=cursor,
    )
    if not notifications:
        return [], next_cursor
    ids = [n.id for n in notifications]
    sent: dict[str, list[Sent]] = {i: [] for i in ids}
    rows = await session.execute(
        select(Delivery, InboxMessage.read_at)
        .outerjoin(InboxMessage, InboxMessage.delivery_id == Delivery.id)
        .where(Delivery.customer_id == customer_id, Delivery.notification_id.in_(ids))
        .order_by(Delivery.channel, Delivery.id)
    )
    for delivery, read_at in rows:
        sent[delivery.notification_id].append(Sent(delivery, read_at))
    titles = await _subject_titles(session, {n.subject_id for n in notifications})
    updates = await _updates(session, {n.update_id for n in notifications})
    answers = await _ratings(session, customer_id, ids)
    return [
        Entry(
            notification=n,
            subject_title=titles.get(n.subject_id),
            update_status=updates.get(n.update_id, (None, None))[0],
            update_at=updates.get(n.update_id, (None, None))[1],
            deliveries=tuple(sent[n.id]),
            rating=answers.get(n.id),
        )
        for n in notifications
    ], next_cursor


async def _ratings(session: AsyncSession, customer_id: str, ids: list[str]) -> dict[str, Rating]:
    """The customer's ratings by the notification of the prompt they answer, in one query
    (a prompt's notification is shared by the customers prompted together)."""
    rows = await session.execute(
        select(RatingPrompt.notification_id, Rating)
        .join(Rating, Rating.prompt_id == RatingPrompt.id)
        .where(RatingPrompt.customer_id == customer_id, RatingPrompt.notification_id.in_(ids))
    )
    return {notification_id: rating for notification_id, rating in rows if notification_id}


async def _subject_titles(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    """Titles of incidents, maintenance and delivery problems by id, in one query."""
    problem_title = func.coalesce(func.nullif(DeliveryProblem.title, ""), DeliveryProblem.reference)
    stmt = union_all(
        select(Incident.id, Incident.title).where(Incident.id.in_(ids)),
        select(DeliveryProblem.id, problem_title).where(DeliveryProblem.id.in_(ids)),
    )
    return {row[0]: row[1] for row in await session.execute(stmt)}


async def _updates(session: AsyncSession, ids: set[str]) -> dict[str, tuple[str, datetime]]:
    """(status, posted at) of incident, maintenance and problem updates by id, in one query."""
    stmt = union_all(
        select(IncidentUpdate.id, IncidentUpdate.status, IncidentUpdate.created_at).where(
            IncidentUpdate.id.in_(ids)
        ),
        select(
            DeliveryProblemUpdate.id, DeliveryProblemUpdate.status, DeliveryProblemUpdate.created_at
        ).where(DeliveryProblemUpdate.id.in_(ids)),
    )
    return {row[0]: (row[1], row[2]) for row in await session.execute(stmt)}
