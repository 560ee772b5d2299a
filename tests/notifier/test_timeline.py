"""A customer's timeline: the notifications they were part of, newest first, with their
own deliveries only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import timeline
from notifier.audience_rule import AudienceRule
from notifier.db import utcnow
from notifier.tables import Customer, Delivery, Notification

Sessions = async_sessionmaker[AsyncSession]


async def test_it_lists_their_notifications_newest_first_with_their_deliveries_only(
    sessions: Sessions,
) -> None:
    start = utcnow()
    async with sessions() as session, session.begin():
        ada, bob = Customer(external_id="ada"), Customer(external_id="bob")
        session.add_all([ada, bob])
        notifications = [
            Notification(
                kind="incident_update",
                event="incident_updated",
                subject_id=f"s{n}",
                update_id=f"u{n}",
                audience=AudienceRule(),
                created_at=start + timedelta(minutes=n),
            )
            for n in range(4)
        ]
        session.add_all(notifications)
        await session.flush()
        first, second, bobs_only, third = notifications
        for notification, customer, channel in [
            (first, ada, "email"),
            (first, bob, "email"),
            (second, ada, "sms"),
            (second, ada, "email"),
            (bobs_only, bob, "email"),
            (third, ada, "inapp"),
        ]:
            session.add(
                Delivery(notification_id=notification.id, customer_id=customer.id, channel=channel)
            )

    async with sessions() as session:
        page, cursor = await timeline.page(session, ada.id, limit=2, cursor=None)
        rest, end = await timeline.page(session, ada.id, limit=2, cursor=cursor)

    entries = page + rest
    assert end is None
    assert [e.notification.id for e in entries] == [third.id, second.id, first.id]
    assert [[s.delivery.channel for s in e.deliveries] for e in entries] == [
        ["inapp"],
        ["email", "sms"],
        ["email"],
    ]
    assert {s.delivery.customer_id for e in entries for s in e.deliveries} == {ada.id}
