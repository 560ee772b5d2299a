"""Tables of what happens after a problem: rating prompts, ratings, follow-ups, contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, UTCDateTime, new_id, utcnow
from notifier.tables.deliveries import BigId


class RatingPrompt(Base):
    """One customer asked once how well they were kept informed about one subject.

    Unique per (customer, subject): nobody is asked twice about the same incident,
    maintenance or delivery problem. ``id`` goes into the signed score links and the
    in-app item; it is not a secret by itself (the links' signature is).
    """

    __tablename__ = "rating_prompts"
    __table_args__ = (
        UniqueConstraint("customer_id", "subject_type", "subject_id"),
        Index("ix_rating_prompts_subject", "subject_type", "subject_id"),
        Index("ix_rating_prompts_status_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # A ``Subject``: incident | maintenance | problem
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(16))
    # The page's ``Scale`` when the prompt was made: answers are read on it ever after.
    scale: Mapped[str] = mapped_column(String(8))
    # The one channel it goes by (a ``ChannelName``): the customer's preferred with consent.
    channel: Mapped[str] = mapped_column(String(16))
    # A ``PromptStatus``: pending -> sent | cancelled
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The notification that carries it through the delivery engine, once made.
    notification_id: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After this, score links and SMS replies are no longer taken.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An SMS reply that was not a score got its one clarification then.
    clarified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rating(Base):
    """A prompt's answer: the latest score (a customer may change it) and comment.

    The subject and customer are copied from the prompt so reports read one table.
    """

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prompt_id: Mapped[str] = mapped_column(
        ForeignKey("rating_prompts.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(16))
    scale: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    # The channel the answer came by (a ``ChannelName``).
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUp(Base):
    """A low score handed to a person: open until ops mark it done with a note."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_open", "done_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    rating_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ratings.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When ops were told on their on-call channel (claimed before sending, as alerts are).
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_note: Mapped[str | None] = mapped_column(Text)
    # The API key's name that marked it done.
    done_by: Mapped[str | None] = mapped_column(String(200))


class Contact(Base):
    """A customer contacted support about a subject, as a helpdesk recorded it.

    The subject is an incident, a delivery problem, or a component at ``contacted_at``
    (attributed to the incident affecting it then).
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_subject", "subject_type", "subject_id"),
        UniqueConstraint("external_id"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # incident | problem | component
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(16))
    # How they reached support: phone | email | chat | social | other
    channel: Mapped[str] = mapped_column(String(16))
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The helpdesk's own id of the ticket: the same contact recorded twice is one.
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
