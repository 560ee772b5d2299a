"""Forewarn's settings: one pydantic-settings model, parsed once in ``main()``."""

from config.settings import (
    DeliverySettings,
    InboxSettings,
    MetricsSettings,
    OnCallSettings,
    PromiseSettings,
    RatingSettings,
    SendGridSettings,
    Settings,
    SettingsError,
    SnapshotSettings,
    SubscribeSettings,
    TwilioSettings,
    load_settings,
)

__all__ = [
    "DeliverySettings",
    "InboxSettings",
    "MetricsSettings",
    "OnCallSettings",
    "PromiseSettings",
    "RatingSettings",
    "SendGridSettings",
    "Settings",
    "SettingsError",
    "SnapshotSettings",
    "SubscribeSettings",
    "TwilioSettings",
    "load_settings",
]
