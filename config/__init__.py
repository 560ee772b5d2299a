"""Forewarn's settings: one pydantic-settings model, parsed once in ``main()``."""

from config.settings import (
    SendGridSettings,
    Settings,
    SettingsError,
    TwilioSettings,
    load_settings,
)

__all__ = ["SendGridSettings", "Settings", "SettingsError", "TwilioSettings", "load_settings"]
