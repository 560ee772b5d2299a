"""The sign-up form: what a visitor typed, parsed and checked, or ``Invalid``.

Errors are ``FormError``s by field name, in English (gettext ids): the page
translates them. Nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time as clock

import phonenumbers
from pydantic import validate_email
from pydantic_core import PydanticCustomError

from notifier.control_characters import one_line, undecodable
from notifier.schemas.customers import e164, time_zone
from notifier.statuses import ChannelName, Locale

# As the ops API's names (``notifier.schemas.fields.Name``) and the column.
NAME_CHARS = 200
_MOBILE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


@dataclass(frozen=True)
class Choice:
    """What they follow and how they like to be told."""

    page: bool
    components: tuple[str, ...]
    locale: str
    time_zone: str
    # Optional, for the greeting ("山田様", "Hi Taro,"); a sign-up may leave both out.
    given_name: str | None = None
    family_name: str | None = None


@dataclass(frozen=True)
class FormError:
    """A field's error: an English message (a gettext id) and its parameters."""

    message: str
    params: dict[str, str] = field(default_factory=dict)


class Invalid(Exception):
    """The form has errors, by field name; nothing was changed."""

    def __init__(self, errors: dict[str, FormError]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


Form = Mapping[str, str]


def parse_email(raw: str) -> str:
    """The address in lower case (one spelling per mailbox); ``Invalid`` on ``email``
    unless it is an address (pydantic's ``validate_email``, RFC 5322 as email-validator
    reads it)."""
    try:
        _name, email = validate_email(raw.strip())
    except PydanticCustomError:
        raise Invalid(
            {"email": FormError("Enter an email address like name@example.com.")}
        ) from None
    # One spelling per mailbox, as the ops API stores it.
    return email.lower()


def parse_mobile(raw: str, countries: Sequence[str]) -> str:
    """The number in E.164 (``+819012345678``). ``Invalid`` on ``phone`` when SMS is not
    offered (no ``countries``), the number is not international, not from one of
    ``countries`` (ISO 3166 regions) or not a mobile (libphonenumber's metadata)."""
    if not countries:
        raise Invalid({"phone": FormError("Text message alerts are not offered; use email.")})
    try:
        number = e164(raw.strip())
    except ValueError:
        raise Invalid(
            {
                "phone": FormError(
                    "Enter a mobile number in international form, like +81 90 1234 5678."
                )
            }
        ) from None
    parsed = phonenumbers.parse(number, None)
    if phonenumbers.region_code_for_number(parsed) not in countries:
        allowed = ", ".join(
            f"{region} (+{phonenumbers.country_code_for_region(region)})" for region in countries
        )
        raise Invalid(
            {
                "phone": FormError(
                    "Text messages can only go to mobile numbers from %(countries)s.",
                    {"countries": allowed},
                )
            }
        )
    if phonenumbers.number_type(parsed) not in _MOBILE:
        raise Invalid({"phone": FormError("This number cannot receive text messages.")})
    return number


def parse_choice(form: Form, components: Collection[str], chosen: Sequence[str]) -> Choice:
    """``chosen``: the component ids ticked (a form field may repeat)."""
    errors: dict[str, FormError] = {}
    page = form.get("scope", "page") != "components"
    picked = tuple(sorted(set(chosen)))
    if not page and (not picked or not set(picked) <= set(components)):
        errors["components"] = FormError("Choose at least one component, or the whole page.")
    if page and picked:
        # Ticks under "everything" are a choice not made yet; guessing either way
        # would subscribe them to what they did not mean.
        errors["components"] = FormError(
            "You ticked components but chose everything on this page: choose one of the two."
        )
    locale = form.get("locale", "")
    if locale not in Locale.__members__:
        errors["locale"] = FormError("Choose a language.")
    zone = form.get("time_zone", "").strip()
    try:
        time_zone(zone)
    except ValueError:
        errors["time_zone"] = FormError("Choose a time zone such as Asia/Tokyo.")
    names = {}
    for name in ("given_name", "family_name"):
        raw = form.get(name, "")
        typed = one_line(raw)
        if undecodable(raw):  # a tab or line break: no one types those into a name
            errors[name] = FormError("Write it on one line, without tabs or line breaks.")
        elif len(typed) > NAME_CHARS:
            errors[name] = FormError(
                "Use at most %(count)s characters.", {"count": str(NAME_CHARS)}
            )
        names[name] = typed or None
    if errors:
        raise Invalid(errors)
    return Choice(
        page=page,
        components=() if page else picked,
        locale=locale,
        time_zone=zone,
        given_name=names["given_name"],
        family_name=names["family_name"],
    )


def parse_address(form: Form, countries: Sequence[str]) -> tuple[str, str]:
    """The channel and its normalised address (lower-case email, E.164 number)."""
    channel = form.get("channel", ChannelName.email)
    if channel == ChannelName.sms:
        return ChannelName.sms, parse_mobile(form.get("phone", ""), countries)
    if channel == ChannelName.email:
        return ChannelName.email, parse_email(form.get("email", ""))
    raise Invalid({"channel": FormError("Choose email or text message.")})


def parse_quiet_hours(form: Form) -> tuple[clock, clock] | None:
    """``quiet_start`` and ``quiet_end`` (HH:MM, local): both, or neither for none."""
    start, end = form.get("quiet_start", "").strip(), form.get("quiet_end", "").strip()
    if not start and not end:
        return None
    try:
        hours = clock.fromisoformat(start), clock.fromisoformat(end)
    except ValueError:
        hours = None
    if hours is None or hours[0] == hours[1]:
        raise Invalid(
            {"quiet_hours": FormError("Give a start and an end time, such as 22:00 and 07:00.")}
        )
    return hours[0].replace(second=0, microsecond=0), hours[1].replace(second=0, microsecond=0)


def parse_channel_order(
    form: Form, reachable: Collection[str], chosen: Sequence[str]
) -> list[str] | None:
    """The channels to try one after another, or None for all at once (``order`` is
    ``all``, or absent). ``chosen``: the ``channel_order`` fields in order, empty ones
    skipped; each must be one of ``reachable`` (the channels they have an address
    for), once. ``Invalid`` on ``channel_order`` otherwise."""
    mode = form.get("order", "all")
    if mode == "all":
        return None
    picked = [c for c in chosen if c]
    if mode != "ordered":
        problem = "Choose all at once, or an order."
    elif not picked:
        problem = "Choose at least one channel, or all at once."
    elif not set(picked) <= set(reachable):
        problem = "Choose only channels we can reach you on."
    elif len(set(picked)) != len(picked):
        problem = "Choose each channel once."
    else:
        return picked
    raise Invalid({"channel_order": FormError(problem)})


def mask(channel: str, address: str) -> str:
    """Enough of an address to recognise it, on a page that anyone with the link sees."""
    if channel == ChannelName.email:
        local, _, domain = address.partition("@")
        return f"{local[:2]}…@{domain}"
    return f"{address[:3]}…{address[-4:]}"
