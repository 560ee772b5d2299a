from __future__ import annotations

from notifier.schemas.common import NumericCursor, PageQuery


class DeliveryQuery(PageQuery):
    cursor: NumericCursor | None = None
