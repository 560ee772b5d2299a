from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import EmailStr, Field, field_validator

from notifier.schemas.common import Input, Output
from notifier.statuses import Locale


def e164(value: str) -> str:
    """A phone number in international form, normalised to E.164."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number in international form (+CC ...)") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as Asia/Tokyo") from None
    return value


class CustomerPut(Input):
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, description="International form; stored as E.164.")
    locale: Locale = Locale.en
    time_zone: str = "UTC"

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else e164(value)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return time_zone(value)


class CustomerOut(Output):
    id: str
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    locale: Locale
    time_zone: str
    created_at: datetime
    updated_at: datetime
