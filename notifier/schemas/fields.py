"""The field types every ops API model is built from, so that one rule holds for every field.

Text is what PostgreSQL can store (no NUL), what an XML feed can carry (the XML 1.0
``Char`` production: no other C0 control, no surrogate, no U+FFFE/U+FFFF) and what a
person meant to write (no DEL, no C1 control). One-line text (names, titles, ids) has
no tab, CR or LF either: it ends up in email Subject headers and feed titles. Each
type states its rule in the OpenAPI document as a ``pattern``, and the server applies
exactly that rule: the length counts what was sent, then the text is stripped of
surrounding whitespace as ECMA-262 and Python count it together (U+FEFF included).

Integers are bounded by their column (PostgreSQL ``integer``: 32 bits, signed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

# Written with escapes so that the pattern reads the same in Python and ECMA-262.
_NEVER = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff"
# Refused too, but not in the document's pattern, which many regex engines refuse
# with them: no UTF-8 and no I-JSON text (RFC 7493) can carry an unpaired surrogate.
_SURROGATES = r"\ud800-\udfff"
_LINE_BREAKS = r"\t\n\r"
# "(?![\s\S])" is the end of the text: "$" in Python also matches before a final "\n".
_END = r"(?![\s\S])"
# The whitespace str.strip() removes that is not banned anyway, and U+FEFF, which
# ECMA-262's WhiteSpace (a client's "\s") has and Python's does not: what may come
# before the first character of text that must not be blank. Spelled out, never "\s",
# so that the document's pattern means the same in every engine.
_SPACES = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_STRIPPED = "".join(c for c in map(chr, range(0x10000)) if c.isspace()) + "\ufeff"


class _Patterned:
    """A string rule that pydantic applies (``_check``) and the document states as a
    JSON Schema ``pattern``: the two always come from one definition."""

    @property
    def pattern(self) -> str:
        raise NotImplementedError

    def _check(self, value: str) -> str:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


@dataclass(frozen=True)
class _Text(_Patterned):
    """Refuses what the module docstring names, then strips surrounding whitespace."""

    multiline: bool
    blank: bool

    @property
    def pattern(self) -> str:
        banned = _NEVER if self.multiline else _NEVER + _LINE_BREAKS
        if self.blank:
            return f"^[^{banned}]*{_END}"
        spaces = _SPACES + _LINE_BREAKS if self.multiline else _SPACES
        # Spaces, then a character that is none, then any text: linear, no lookahead.
        return f"^[{spaces}]*[^{_SPACES}{_LINE_BREAKS}{banned}][^{banned}]*{_END}"

    def _check(self, value: str) -> str:
        found = _banned(self.multiline).search(value)
        if found is not None:
            char = found.group()
            what = "line break or tab" if char in "\t\n\r" else "control character"
            raise ValueError(f"must not contain a {what} (U+{ord(char):04X})")
        stripped = value.strip(_STRIPPED)
        if not self.blank and not stripped:
            raise ValueError("must not be blank")
        return stripped


@cache
def _banned(multiline: bool) -> re.Pattern[str]:
    banned = _NEVER + _SURROGATES if multiline else _NEVER + _SURROGATES + _LINE_BREAKS
    return re.compile(f"[{banned}]")


# One line of text: names, titles, references and ids.
Name = Annotated[str, Field(min_length=1, max_length=200), _Text(multiline=False, blank=False)]
Title = Annotated[str, Field(min_length=1, max_length=300), _Text(multiline=False, blank=False)]
OptionalTitle = Annotated[str, Field(max_length=300), _Text(multiline=False, blank=True)]
# A record's id as sent in a body or a query (ids are 12 characters; 64 leaves room).
RecordId = Annotated[str, Field(min_length=1, max_length=64), _Text(multiline=False, blank=False)]
Filter = Annotated[str, Field(max_length=200), _Text(multiline=False, blank=True)]
# Markdown: tabs and line breaks are text here.
Description = Annotated[str, Field(max_length=2000), _Text(multiline=True, blank=True)]
# A description's translation: as a description, but there is no point in an empty one.
DescriptionText = Annotated[
    str, Field(min_length=1, max_length=2000), _Text(multiline=True, blank=False)
]
Body = Annotated[
    str,
    Field(min_length=1, max_length=20_000, description="Markdown."),
    _Text(multiline=True, blank=False),
]
# A person's note on a record (what ops did about a follow-up): plain text, a few lines.
Note = Annotated[str, Field(min_length=1, max_length=2000), _Text(multiline=True, blank=False)]


@dataclass(frozen=True)
class Matching(_Patterned):
    """Text that must match ``regex`` whole; the document states it as a ``pattern``."""

    regex: str
    problem: str

    @property
    def pattern(self) -> str:
        """The rule as a JSON Schema (ECMA-262) pattern."""
        return f"^(?:{self.regex}){_END}"

    def matches(self, value: str) -> bool:
        """Whether ``value`` matches the rule whole."""
        return _compiled(self.regex).fullmatch(value) is not None

    def _check(self, value: str) -> str:
        if not self.matches(value):
            raise ValueError(self.problem)
        return value


@cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


# Your own id for a customer: it travels in URLs and logs, so never an email address.
# "search" is POST /customers/search's, so no customer can be /customers/search.
EXTERNAL_ID = Matching(
    r"(?!search" + _END + r")[A-Za-z0-9._:-]{1,200}",
    "use 1 to 200 letters, digits and . _ : - (not an email address, not 'search')",
)
ExternalId = Annotated[
    str,
    EXTERNAL_ID,
    Field(description="1 to 200 letters, digits and . _ : - (never an email; not 'search')."),
]


def _json_integer(value: object, info: ValidationInfo) -> object:
    """In JSON, a JSON Schema integer: a number with no fraction (2.0 is one), never true
    or "2". A query's text ("2") is left to pydantic."""
    if info.mode != "json":
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


# PostgreSQL integer: the range of its column.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
Position = Annotated[
    int,
    Field(ge=INT32_MIN, le=INT32_MAX, description="Lower comes first."),
    BeforeValidator(_json_integer),
]
Limit = Annotated[int, Field(ge=1, le=100), BeforeValidator(_json_integer)]
# A rating on any scale (CSAT 1-5, NPS 0-10, CES 1-7); the prompt's scale narrows it.
Score = Annotated[int, Field(ge=0, le=10), BeforeValidator(_json_integer)]
# An in-app message's id: a positive PostgreSQL bigint.
MessageId = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(_json_integer)]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 once in UTC") from None


# A moment with its offset, kept in UTC (as every column stores it).
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]


@cache
def time_zones() -> frozenset[str]:
    """The IANA zones this server knows."""
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError("not an IANA time zone such as Asia/Tokyo")
    return value


# Which names exist is the server's tz database, so "time-zone" names the format for
# generators instead of a 600-value enum.
TimeZone = Annotated[
    str,
    AfterValidator(_zone),
    WithJsonSchema(
        {
            "type": "string",
            "format": "time-zone",
            "minLength": 1,
            "maxLength": 64,
            "description": "An IANA time zone, e.g. Asia/Tokyo.",
        }
    ),
]

# An update's ``urgent``: it breaks through the recipients' quiet hours and no-spam
# windows (``notifier.delivery.care``); a critical impact does so without asking.
URGENT: Any = Field(
    default=False,
    description=(
        "Send at once, through quiet hours and no-spam windows "
        "(an incident whose impact is critical is urgent anyway)."
    ),
)
