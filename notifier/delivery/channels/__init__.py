"""Channels: one class each behind one interface; render is separate from send."""

from notifier.delivery.channels.base import (
    Channel,
    Content,
    DeliveryError,
    Outcome,
    Recipient,
    Report,
    Sent,
)

__all__ = ["Channel", "Content", "DeliveryError", "Outcome", "Recipient", "Report", "Sent"]
