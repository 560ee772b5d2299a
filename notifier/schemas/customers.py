"""Request bodies for customers: their addresses, consent and what they follow."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import email_validator
import phonenumbers
from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, field_validator

from notifier.schemas.common import Input, PageQuery
from notifier.schemas.fields import Name, RecordId, TimeZone
from notifier.statuses import ChannelName, Locale


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
    """``value`` if it names an IANA time zone (e.g. Asia/Tokyo); ``ValueError`` if not."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as Asia/Tokyo") from None
    return value


# JSON Schema cannot say which numbers exist; "phone" names the format for generators.
Phone = Annotated[
    str,
    AfterValidator(e164),
    WithJsonSchema({"type": "string", "format": "phone", "minLength": 1, "maxLength": 40}),
    Field(min_length=1, max_length=40),
]


def _mailbox(value: str) -> str:
    try:
        # .test (RFC 6761) is for testing: staging systems sync customers there.
        address = email_validator.validate_email(
            value, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from None
    # One spelling per mailbox, so bounces and suppressions match what we sent to.
    return address.normalized.lower()


Email = Annotated[
    str,
    AfterValidator(_mailbox),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
    Field(max_length=254),
]


class ConsentIn(Input):
    """Consent the business already holds (imported), with its legal basis."""

    channels: list[Literal["email", "sms"]] = Field(min_length=1)
    legal_basis: Name = Field(
        description="Why you may contact them, e.g. 'contract', 'consent given at checkout'.",
    )


class FollowsIn(Input):
    """What page notifications a customer gets: the whole page, or some components."""

    page: bool = Field(default=False, description="Every incident and maintenance.")
    components: list[RecordId] = Field(default=[], description="Ids of components they follow.")


class CustomerPut(Input):
    """A customer as a whole: a field left out takes its default (null, en, UTC).

    consent and follows left out keep what the customer has.
    """

    given_name: Name | None = Field(default=None, description="e.g. Taro; 'Hi Taro,' in English.")
    family_name: Name | None = Field(
        default=None, description="e.g. Yamada; '山田様' in Japanese messages."
    )
    email: Email | None = None
    phone: Phone | None = Field(default=None, description="International form; stored as E.164.")
    inapp_user_id: Name | None = Field(
        default=None, description="Your application's user id, for in-app."
    )
    locale: Locale = Locale.en
    time_zone: TimeZone = "UTC"
    only_unresolved: bool = Field(
        default=False,
        description="Drop a message held back (quiet hours, no-spam window) when its "
        "subject was resolved meanwhile: tell them only while a problem lasts.",
    )
    consent: ConsentIn | None = Field(
        default=None, description="Grants these channels; channels not listed keep their state."
    )
    follows: FollowsIn | None = Field(
        default=None,
        description="What page notifications they get (replaces the previous choice). "
        "Delivery problems reach their named customers whatever they follow.",
    )
    channel_order: list[ChannelName] | None = Field(
        default=None,
        min_length=1,
        max_length=len(ChannelName),
        json_schema_extra={"uniqueItems": True},
        description="Channels to try one after another: a message goes by the first that "
        "can reach them, and by the next when it fails for good (or, in-app, stays unread). "
        "Channels not listed are not used. Null: every consented channel at once.",
    )

    @field_validator("channel_order")
    @classmethod
    def _each_once(cls, value: list[ChannelName] | None) -> list[ChannelName] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each channel at most once")
        return value


def _email_or_phone(schema: dict[str, Any]) -> None:
    # Exactly one of them, and never null: what the handler checks, stated in the document.
    for name in ("email", "phone"):
        prop = schema["properties"][name]
        [given] = [s for s in prop.pop("anyOf") if s.get("type") != "null"]
        prop.update(given)
        prop.pop("default")
    schema["oneOf"] = [{"required": ["email"]}, {"required": ["phone"]}]


class CustomerSearch(PageQuery):
    """Customers with this email address or this phone number (one of them), newest first.

    Compared as stored: the address in lower case, the number in E.164.
    """

    model_config = ConfigDict(json_schema_extra=_email_or_phone)

    email: Email | None = None
    phone: Phone | None = Field(
        default=None, description="International form, e.g. +81 90 1234 5678."
    )

    @field_validator("email", "phone")
    @classmethod
    def _present(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("leave the field out rather than send null")
        return value
