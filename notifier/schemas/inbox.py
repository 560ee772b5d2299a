from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from notifier.errors import InvalidField
from notifier.inbox import cursor_position
from notifier.schemas.common import Output, Page, PageQuery


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
    @field_validator("cursor")
    @classmethod
    def _inbox_cursor(cls, value: str | None) -> str | None:
        if value:
            try:
                cursor_position(value)
            except InvalidField as exc:
                raise ValueError(exc.detail) from None
        return value
