"""A customer's address on each channel, said once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.audience_rule import AudienceRule
from notifier.statuses import ChannelName
from notifier.tables import Customer, Delivery, Notification
from notifier.tables.customers import (
    ADDRESS,
    address_by_channel,
    address_column,
    address_of,
    set_address,
)

Sessions = async_sessionmaker[AsyncSession]


def test_every_channel_has_an_address_column() -> None:
    assert set(ADDRESS) == set(ChannelName)
    assert address_column("email") is Customer.email
    assert address_column("sms") is Customer.phone
    assert address_column("inapp") is Customer.inapp_user_id


def test_python_and_sql_forms_agree() -> None:
    customer = Customer(email="a@example.com", phone="+14155550000", inapp_user_id="u1")
    assert [address_of(customer, c) for c in ChannelName] == [
        "a@example.com",
        "+14155550000",
        "u1",
    ]
    set_address(customer, "sms", "+14155550001")
    assert customer.phone == "+14155550001"


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="fax"):
        address_column("fax")


async def test_the_case_expression_picks_each_deliverys_address(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        customer = Customer(email="a@example.com", phone="+14155550000", inapp_user_id="u1")
        notification = Notification(
            kind="incident_update",
            event="incident_updated",
            subject_id="i1",
            update_id="u1",
            audience=AudienceRule(),
        )
        session.add_all([customer, notification])
        await session.flush()
        session.add_all(
            Delivery(notification_id=notification.id, customer_id=customer.id, channel=c)
            for c in ChannelName
        )
        await session.flush()
        rows = await session.execute(
            select(Delivery.channel, address_by_channel(Delivery.channel).label("address"))
            .join(Customer, Customer.id == Delivery.customer_id)
            .order_by(Delivery.id)
        )
        assert [(r.channel, r.address) for r in rows] == [
            ("email", "a@example.com"),
            ("sms", "+14155550000"),
            ("inapp", "u1"),
        ]
