from __future__ import annotations

from notifier.schemas.common import NumericCursor, PageQuery


class InboxQuery(PageQuery):
    cursor: NumericCursor | None = None
