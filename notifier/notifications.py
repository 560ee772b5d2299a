"""The transactional outbox: a notification row written with the change that causes it.

The ids created in a session are kept on it; whoever commits the session
enqueues their fan-out afterwards (``created_in``). If that enqueue is lost,
the sweeper finds the row and enqueues it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.audience_rule import AudienceRule
from notifier.db import new_id
from notifier.errors import NotFound
from notifier.events import Event
from notifier.pagination import paginate
from notifier.statuses import Impact, NotificationStatus
from notifier.tables import Delivery, Notification

_CREATED = "forewarn.notifications"


def add(
    session: AsyncSession,
    *,
    kind: str,
    event: Event,
    subject_id: str,
    update_id: str,
    audience: AudienceRule,
    now: datetime,
    urgent: bool = False,
    impact: str | None = None,
) -> Notification:
    """Add the notification row for one update (status ``pending``) and note its id on the session.

    ``kind`` is ``incident_update``, ``maintenance_update``, ``problem_update`` or
    ``maintenance_reminder`` (what ``subject_id`` and ``update_id`` name: a reminder's
    update is its maintenance's latest); ``event`` which message it is;
    ``audience`` says who hears (``AudienceRule``: a page's subscribers to some
    components, or a problem's customers); ``impact`` the subject's impact now (an
    ``Impact``, None for a delivery problem). It is urgent, and breaks through quiet
    hours and no-spam windows (``notifier.delivery.care``), when ``urgent`` was asked
    for or the impact is critical. The fan-out is enqueued after the commit: see
    ``created_in``.
    """
    notification = Notification(
        id=new_id(),
        kind=kind,
        event=event,
        subject_id=subject_id,
        update_id=update_id,
        audience=audience,
        urgent=urgent or impact == Impact.critical,
        impact=impact,
        status=NotificationStatus.pending,
        cursor="",
        created_at=now,
    )
    session.add(notification)
    session.info.setdefault(_CREATED, []).append(notification.id)
    return notification


def created_in(session: AsyncSession) -> list[str]:
    """Ids of notifications added in this session; call after the commit."""
    ids: list[str] = session.info.pop(_CREATED, [])
    return ids


async def get(session: AsyncSession, notification_id: str) -> Notification:
    """The notification with this id. Raises NotFound."""
    notification = await session.get(Notification, notification_id)
    if notification is None:
        raise NotFound("notification", notification_id)
    return notification


# Deliveries by channel and status: {"email": {"sent": 10, "failed": 1}, ...}.
Counts = dict[str, dict[str, int]]


async def counts(session: AsyncSession, notification_ids: Sequence[str]) -> dict[str, Counts]:
    """Each notification's deliveries by channel and status, in one query for them all.

    Maps every id given to its ``Counts`` (empty while none of its deliveries exists).
    """
    out: dict[str, Counts] = {n: {} for n in notification_ids}
    if not out:
        return out
    rows = await session.execute(
        select(
            Delivery.notification_id,
            Delivery.channel,
            Delivery.status,
            func.count().label("deliveries"),
        )
        .where(Delivery.notification_id.in_(list(out)))
        .group_by(Delivery.notification_id, Delivery.channel, Delivery.status)
    )
    for row in rows:
        out[row.notification_id].setdefault(row.channel, {})[row.status] = row.deliveries
    return out


async def for_subject(session: AsyncSession, subject_id: str) -> Sequence[Notification]:
    """The notifications of one incident, maintenance or problem, newest first."""
    stmt = (
        select(Notification)
        .where(Notification.subject_id == subject_id)
        .order_by(Notification.created_at.desc())
    )
    return (await session.scalars(stmt)).all()


async def deliveries_of(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> tuple[Sequence[Delivery], str | None]:
    """One customer's timeline: a page of at most ``limit`` of their deliveries, newest
    first, and the cursor of the next page (None at the end)."""
    stmt = select(Delivery).where(Delivery.customer_id == customer_id)
    return await paginate(
        session, stmt, Delivery.created_at, Delivery.id, limit=limit, cursor=cursor
    )
