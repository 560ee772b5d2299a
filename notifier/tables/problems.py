"""Tables of delivery problems, the customers they affect, and their updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.db import Base, UTCDateTime, new_id, utcnow
from notifier.tables.customers import Customer


class DeliveryProblem(Base):
    """A late, failed or lost order, shipment or service visit for named customers."""

    __tablename__ = "delivery_problems"
    __table_args__ = (Index("ix_delivery_problems_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="open")
    title: Mapped[str] = mapped_column(String(300), default="")
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customers: Mapped[list[Customer]] = relationship(
        secondary="delivery_problem_customers", lazy="selectin", order_by="Customer.external_id"
    )
    updates: Mapped[list[DeliveryProblemUpdate]] = relationship(
        order_by="DeliveryProblemUpdate.created_at.desc()",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class DeliveryProblemCustomer(Base):
    """A customer affected by a delivery problem (the link table)."""

    __tablename__ = "delivery_problem_customers"

    problem_id: Mapped[str] = mapped_column(
        ForeignKey("delivery_problems.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DeliveryProblemUpdate(Base):
    """One posted update of a delivery problem: status, Markdown body, ETA, whether to notify."""

    __tablename__ = "delivery_problem_updates"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    problem_id: Mapped[str] = mapped_column(
        ForeignKey("delivery_problems.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify: Mapped[bool] = mapped_column(default=True)
    posted_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
