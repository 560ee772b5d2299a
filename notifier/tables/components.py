"""Tables of components, their groups, and every status change (the uptime source)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.db import Base, UTCDateTime, new_id, utcnow

# A record's text in other languages than the page's default: language -> field -> text,
# e.g. {"ja": {"name": "決済API"}}; null when there is none (``notifier.translations``).
Translations = dict[str, dict[str, str]]


class ComponentGroup(Base):
    """A named group of components, shown together on the page (Statuspage's component group)."""

    __tablename__ = "component_groups"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    translations: Mapped[Translations | None] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    components: Mapped[list[Component]] = relationship(
        back_populates="group", order_by="Component.position", lazy="selectin"
    )


class Component(Base):
    """A part of the service with a Statuspage status, shown on the page unless hidden."""

    __tablename__ = "components"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    translations: Mapped[Translations | None] = mapped_column(JSON)
    group_id: Mapped[str | None] = mapped_column(
        ForeignKey("component_groups.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(32), default="operational")
    visible: Mapped[bool] = mapped_column(default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[ComponentGroup | None] = relationship(back_populates="components")


class ComponentStatusChange(Base):
    """Every status a component entered, and when: the source of uptime bars."""

    __tablename__ = "component_status_changes"
    __table_args__ = (Index("ix_component_status_changes_component_at", "component_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    component_id: Mapped[str] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    incident_id: Mapped[str | None] = mapped_column(String(16))
