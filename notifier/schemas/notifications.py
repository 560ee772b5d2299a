"""The query of a customer's deliveries."""

from __future__ import annotations

from notifier.schemas.common import NumericCursor, PageQuery


class DeliveryQuery(PageQuery):
    """A page of a customer's deliveries, newest first."""

    cursor: NumericCursor | None = None
