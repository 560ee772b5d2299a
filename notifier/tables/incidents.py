"""Tables of incidents and maintenance, their updates and the components they affect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.db import Base, UTCDateTime, new_id, utcnow
from notifier.tables.components import Component, Translations


class Incident(Base):
    """An incident, or (kind ``maintenance``) a scheduled maintenance."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_kind_created", "kind", "created_at", "id"),
        Index("ix_incidents_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), default="incident")
    title: Mapped[str] = mapped_column(String(300))
    # {"ja": {"title": ...}}: the title in other languages (``notifier.translations``).
    translations: Mapped[Translations | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32))
    impact: Mapped[str] = mapped_column(String(16), default="none")
    public: Mapped[bool] = mapped_column(default=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    monitoring_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_update_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_transition: Mapped[bool] = mapped_column(default=True)
    # A maintenance: when its reminder notification was written (once per window).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident",
        order_by="IncidentUpdate.created_at.desc()",
        lazy="selectin",
        cascade="all, delete-orphan",
    )
    affected: Mapped[list[IncidentComponent]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    promises: Mapped[list[Promise]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="Promise.id"
    )


class IncidentComponent(Base):
    """A component an incident affects and the status it gives it while open."""

    __tablename__ = "incident_components"

    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[str] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(32))

    component: Mapped[Component] = relationship(lazy="selectin")


class IncidentUpdate(Base):
    """One posted update of an incident or maintenance: status, Markdown body, whether to notify."""

    __tablename__ = "incident_updates"
    __table_args__ = (Index("ix_incident_updates_incident_created", "incident_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    # {"ja": {"body": ...}}: the body in other languages.
    translations: Mapped[Translations | None] = mapped_column(JSON)
    notify: Mapped[bool] = mapped_column(default=True)
    posted_by: Mapped[str] = mapped_column(String(200), default="")
    next_update_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    affected_components: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="updates")


class Promise(Base):
    """A promised next update of an incident (``next_update_by``) and how it ended.

    Open while ``kept_at`` and ``broken_at`` are null: kept by the next update (or the
    resolution) posted by ``due_at``, broken (``broken_at`` = ``due_at``) when none was.
    ``reminded_at``: when ops were reminded before it was due (once).
    """

    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_open_due", "kept_at", "broken_at", "due_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # The update that made the promise.
    update_id: Mapped[str] = mapped_column(ForeignKey("incident_updates.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
