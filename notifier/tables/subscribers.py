"""Tables of what customers follow and agreed to: subscriptions, consent, suppressions, sign-ups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, UTCDateTime, new_id, utcnow


class Subscription(Base):
    """What a customer follows: the whole page (no component) or one component."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("customer_id", "component_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # NULL: the whole page.
    component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """Permission to use one channel of a customer: how it was given, and when."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # double_opt_in | imported | in_app_identity
    method: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Suppression(Base):
    """An address we must not send to: bounced, reported spam, replied STOP, or by hand."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    # bounce | spam_report | unsubscribe | stop | invalid | manual
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Signup(Base):
    """A sign-up waiting for its address to be confirmed, and the message that asks.

    Also the outbox row of that message: ``sent_at`` is set once it went out. Kind
    ``confirm`` can be confirmed (by the emailed link, the texted code or a YES
    reply); kind ``already`` only tells a confirmed subscriber that they are, so the
    page answers the same whoever asks. Nothing about it reaches the audience: the
    customer and the consent are made when it is confirmed. Expired rows are purged.
    """

    __tablename__ = "signups"
    __table_args__ = (
        Index("ix_signups_address", "channel", "address"),
        Index("ix_signups_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    # confirm | already
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    # The email address (lower case) or E.164 number to confirm.
    address: Mapped[str] = mapped_column(String(320))
    # Known when the address belongs to a customer already (manage, or already subscribed).
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # What to follow once confirmed: the whole page and/or these component ids.
    page: Mapped[bool] = mapped_column(default=False)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The names typed on the form (both optional), given to the customer when confirmed.
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    # Wrong SMS codes typed so far; too many and the sign-up is void.
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
