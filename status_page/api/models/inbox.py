"""The in-app inbox's answers (``/api/v1/inbox``, called by the host application)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from status_page.api.models.common import Output, Page


class InboxMessageOut(Output):
    """One in-app message; read from an ``InboxMessage`` row. Times are RFC 3339, in UTC."""

    id: int
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None = Field(description="null while unread.")


class InboxPage(Page[InboxMessageOut]):
    """A page of the user's messages, newest first, and how many are unread in all."""

    unread_count: int


class MarkedRead(Output):
    """The message just marked read, and how many are still unread."""

    data: InboxMessageOut
    unread_count: int


class AllMarkedRead(Output):
    """The answer to marking every message read."""

    marked: int = Field(description="How many messages were unread.")
    unread_count: int
