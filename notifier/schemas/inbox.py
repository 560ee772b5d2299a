"""Models of the in-app inbox API (``/api/v1/inbox``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.schemas.common import NumericCursor, Output, Page, PageQuery


class InboxMessageOut(Output):
    """One message in the user's in-app inbox."""

    id: int
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None = Field(description="null while unread.")


class InboxPage(Page[InboxMessageOut]):
    """A page of the user's messages, newest first, and how many of all of them are unread."""

    unread_count: int


class MarkedRead(Output):
    """The message just marked read, and how many are still unread."""

    data: InboxMessageOut
    unread_count: int


class AllMarkedRead(Output):
    """The answer to marking every message read."""

    marked: int = Field(description="How many messages were unread.")
    unread_count: int


class InboxQuery(PageQuery):
    """The query of the inbox list: up to `limit` messages (1 to 100, default 20) after `cursor`."""

    cursor: NumericCursor | None = None
