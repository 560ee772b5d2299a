from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.schemas.common import NumericCursor, Output, Page, PageQuery


class InboxMessageOut(Output):
    id: int
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None = Field(description="null while unread.")


class InboxPage(Page[InboxMessageOut]):
    unread_count: int


class MarkedRead(Output):
    data: InboxMessageOut
    unread_count: int


class AllMarkedRead(Output):
    marked: int = Field(description="How many messages were unread.")
    unread_count: int


class InboxQuery(PageQuery):
    cursor: NumericCursor | None = None
