"""Tables of sending: notifications (the outbox), deliveries, dev outbox, inbox, provider events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from notifier.audience_rule import AudienceRule, AudienceRuleJSON
from notifier.db import Base, UTCDateTime, new_id, utcnow
from notifier.statuses import ChannelName, DeliveryStatus, NotificationStatus

# The partial indexes' conditions: the same text as the migrations that made them.
UNFINISHED = "status IN ({})".format(", ".join(f"'{s}'" for s in DeliveryStatus if s.unfinished))
SMS_ONLY = f"channel = '{ChannelName.sms}'"
FALLBACKS = "fallback_of IS NOT NULL"
UNREAD = "read_at IS NULL"
# Claimed rows that failed for good: the sweep's scan for lost fallbacks (``fallback.missed``).
FAILED_AFTER_CLAIM = "status IN ('failed', 'suppressed') AND attempts > 0"
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Notification(Base):
    """One event to tell (the outbox row), written with the change that causes it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    # incident_update | maintenance_update | problem_update
    kind: Mapped[str] = mapped_column(String(32))
    # An ``Event``: which message this is (incident_created, maintenance_started, ...).
    event: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(16), index=True)
    update_id: Mapped[str] = mapped_column(String(16))
    # Who hears: {"components": [...]} (page subscribers) or {"problem": id} (its customers).
    audience: Mapped[AudienceRule] = mapped_column(AudienceRuleJSON)
    # Breaks through quiet hours and the no-spam windows (``notifier.delivery.care``):
    # asked for on the update, or the subject's impact was critical when it was written.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The subject's impact when it was written (an ``Impact``; None for a delivery
    # problem): a raised impact is a change that matters, sent inside a no-spam window.
    impact: Mapped[str | None] = mapped_column(String(16))
    # A NotificationStatus: pending -> fanning_out -> done
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.pending)
    # Where fan-out is: the channel it is on ("" before it starts) and the last customer
    # id done in it. A restarted fan-out resumes there.
    cursor_channel: Mapped[str] = mapped_column(String(16), default="", server_default="")
    cursor: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One (notification, customer, channel); the unique key makes fan-out idempotent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "customer_id", "channel"),
        # Partial: rows that are sent, and email rows, are not in them, so marking a
        # delivery sent (the hottest UPDATE of a fan-out) touches fewer indexes.
        Index(
            "ix_deliveries_status_due",
            "status",
            "next_attempt_at",
            postgresql_where=text(UNFINISHED),
            sqlite_where=text(UNFINISHED),
        ),
        Index("ix_deliveries_customer", "customer_id", "id"),
        # Twilio status callbacks find their SMS by provider id.
        Index(
            "ix_deliveries_provider_id",
            "provider_id",
            postgresql_where=text(SMS_ONLY),
            sqlite_where=text(SMS_ONLY),
        ),
        # Whether a delivery was fallen back from already (``delivery.fallback``).
        Index(
            "ix_deliveries_fallback_of",
            "fallback_of",
            postgresql_where=text(FALLBACKS),
            sqlite_where=text(FALLBACKS),
        ),
        # Failures after a claim, by claim time: few (fan-out's own suppressed rows have
        # no attempt), and the sweep reads only the recent ones.
        Index(
            "ix_deliveries_failed_claimed",
            "claimed_at",
            postgresql_where=text(FAILED_AFTER_CLAIM),
            sqlite_where=text(FAILED_AFTER_CLAIM),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # A DeliveryStatus: pending -> sending -> sent -> delivered | failed | bounced |
    # suppressed; or sending -> parked (a provider refused our credentials) -> pending
    # when ops resume it
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(128))
    segments: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The delivery this one falls back from (failed, suppressed or unread on the
    # channel before it: ``notifier.delivery.fallback``); None for fan-out's own.
    fallback_of: Mapped[int | None] = mapped_column(BigId)


class OutboxMessage(Base):
    """A message the dev outbox 'sent': exactly what a provider would have received."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int | None] = mapped_column(BigId, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxMessage(Base):
    """An in-app message in one user's inbox (the in-app channel's 'provider')."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        Index("ix_inbox_messages_user", "user_id", "id"),
        # Unread messages by age: the unread fallback's scan (``delivery.fallback``).
        Index(
            "ix_inbox_messages_unread",
            "created_at",
            postgresql_where=text(UNREAD),
            sqlite_where=text(UNREAD),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deliveries.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Shown in the user's feed (Knock's and Novu's "seen"): what the bell's badge counts
    # down. Reading a message sees it too (``notifier.inbox``).
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Put away by the user: out of the feed's default view and of its counts, not deleted.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProviderEvent(Base):
    """Provider webhook events already handled, so a redelivered event is a no-op."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
