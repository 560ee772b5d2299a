"""The customer table: one row per person, with every channel's address."""

from __future__ import annotations

import secrets
from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, Index, String, Time, case, false, text
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from notifier.db import Base, UTCDateTime, new_id, utcnow
from notifier.statuses import ChannelName

# The external_id Forewarn gives a customer the business did not name (a sign-up on
# the page): the prefix says where it came from, the rest is unguessable (about 103
# bits), so it never meets one of the business's own ids.
PAGE_ID_PREFIX = "page_"
_PAGE_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# The partial index's condition: the same text as the migration that made it.
ORDERED = "channel_order IS NOT NULL"


def page_external_id() -> str:
    """A new ``page_`` external id: the prefix and 20 random base-36 characters (about 103 bits)."""
    return PAGE_ID_PREFIX + "".join(secrets.choice(_PAGE_ID_ALPHABET) for _ in range(20))


class Customer(Base):
    """A person known by ``external_id``: the business's own id, or a ``page_...`` one
    for a sign-up on the page. Erasing keeps the row, not the PII (nor the id)."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_created", "created_at", "id"),
        # Fan-out reads the few customers with a channel order on their own.
        Index(
            "ix_customers_channel_order",
            "id",
            postgresql_where=text(ORDERED),
            sqlite_where=text(ORDERED),
        ),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    external_id: Mapped[str | None] = mapped_column(
        String(200), unique=True, default=page_external_id
    )
    # Two names, not one string to guess from: messages address a Japanese customer by
    # the family name (山田様) and an English one by the given name (Hi Taro).
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    # The host application's user id, for the in-app inbox.
    inapp_user_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Local times in ``time_zone`` between which only urgent messages should arrive
    # (both or neither; the end may be past midnight: 22:00-07:00).
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    # Channel names to try one after another (``notifier.delivery.fallback``); None:
    # every consented channel at once.
    channel_order: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # Messages held (quiet hours, no-spam window) are dropped if the subject was resolved
    # meanwhile: they want to hear only while a problem is going on.
    only_unresolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The one place that says which of a customer's columns is their address on each
# channel: an email address, an E.164 number, the host application's user id.
ADDRESS: dict[ChannelName, InstrumentedAttribute[str | None]] = {
    ChannelName.email: Customer.email,
    ChannelName.sms: Customer.phone,
    ChannelName.inapp: Customer.inapp_user_id,
}


def address_column(channel: str) -> InstrumentedAttribute[str | None]:
    """The customer column holding their address on ``channel`` (SQL form).

    Raises ``ValueError`` for a name that is not a ``ChannelName``."""
    return ADDRESS[ChannelName(channel)]


def address_by_channel(channel: ColumnElement[str] | InstrumentedAttribute[str]) -> Any:
    """``CASE channel WHEN 'email' THEN customers.email ...``: the address for a channel
    held in a column (a delivery's, a suppression's), in one expression."""
    return case({name.value: column for name, column in ADDRESS.items()}, value=channel)


def address_of(customer: Customer, channel: str) -> str | None:
    """The customer's address on ``channel``, or None (Python form of ``ADDRESS``).

    Raises ``ValueError`` for a name that is not a ``ChannelName``."""
    value: str | None = getattr(customer, address_column(channel).key)
    return value


def set_address(customer: Customer, channel: str, address: str | None) -> None:
    """Give the customer ``address`` on ``channel`` (raises ``ValueError`` as above)."""
    setattr(customer, address_column(channel).key, address)
