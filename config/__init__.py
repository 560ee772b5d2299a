"""Forewarn's settings: one pydantic-settings model, parsed once in ``main()``."""

from config.settings import (
    DeliverySettings,
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
