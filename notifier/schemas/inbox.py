"""The in-app inbox's query."""

from __future__ import annotations

from notifier.schemas.common import NumericCursor, PageQuery


class InboxQuery(PageQuery):
    """A page of the user's in-app messages, newest first."""

    cursor: NumericCursor | None = None
