"""Message templates ops have overridden through the ops API (the built-ins are files)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notifier.db import Base, UTCDateTime, utcnow


class MessageTemplate(Base):
    """The override of one built-in template: an event's ``part`` (``email_subject``,
    ``email_text``, ``email_html`` or ``sms``; in-app messages use the email subject and
    the SMS text) in one locale. Its Jinja ``source`` was checked when saved
    (``notifier.delivery.message_templates``); ``updated_by`` is the API key's name."""

    __tablename__ = "message_templates"

    event: Mapped[str] = mapped_column(String(32), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))
