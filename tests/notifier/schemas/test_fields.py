"""The field types of the ops API: what each accepts (and how it stores it), what it
refuses, and that the ``pattern`` its JSON Schema states is the rule the server applies,
read as a client reads it: an ECMA-262 regular expression."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from notifier.schemas.fields import (
    INT32_MAX,
    INT32_MIN,
    Body,
    Description,
    ExternalId,
    Instant,
    Limit,
    Name,
    OptionalTitle,
    Position,
    RecordId,
    TimeZone,
    Title,
)

# ECMA-262 \s: WhiteSpace (TAB VT FF SP NBSP ZWNBSP and every Zs) and LineTerminator
# (LF CR LS PS), §22.2.2.9 CharacterClassEscape. Python's \s lacks U+FEFF.
ECMA_SPACE = r"\t\x0b\x0c \u00a0\ufeff\u1680\u2000-\u200a\u202f\u205f\u3000\n\r\u2028\u2029"


def ecma(pattern: str) -> re.Pattern[str]:
    """The document's pattern as an ECMA-262 engine reads it (those used here differ
    from Python's only in \\s)."""
    return re.compile(pattern.replace(r"(?![\s\S])", r"\Z").replace(r"\s", ECMA_SPACE))


def accepts(field: Any, value: object, *, json: bool = False) -> bool:
    adapter: TypeAdapter[Any] = TypeAdapter(field)
    try:
        if json:
            adapter.validate_json(value if isinstance(value, str) else repr(value))
        else:
            adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def pattern(field: Any) -> str:
    found: str = TypeAdapter(field).json_schema()["pattern"]
    return found


ONE_LINE = [Name, Title, RecordId]
TEXT = [*ONE_LINE, OptionalTitle, Description, Body]
ONE_LINE_IDS = ["Name", "Title", "RecordId"]
TEXT_IDS = [*ONE_LINE_IDS, "OptionalTitle", "Description", "Body"]


@pytest.mark.parametrize("field", ONE_LINE, ids=ONE_LINE_IDS)
def test_one_line_text_is_stripped_and_refuses_breaks_controls_and_blanks(field: Any) -> None:
    assert TypeAdapter(field).validate_python("  Checkout API\u00a0") == "Checkout API"
    assert accepts(field, "Caf\u00e9 \u2014 \u6771\u4eac \U0001f680")
    for refused in [
        "",
        "   ",
        "a\nb",
        "a\tb",
        "a\rb",
        "a\x00b",
        "a\x07",
        "a\x7f",
        "a\x85",
        "\ud800",
    ]:
        assert not accepts(field, refused), repr(refused)


def test_multiline_text_keeps_its_lines_and_blank_is_allowed_where_optional() -> None:
    markdown = "  # Update\n\n- one\n\t- two\r\n"
    assert TypeAdapter(Body).validate_python(markdown) == "# Update\n\n- one\n\t- two"
    assert TypeAdapter(Description).validate_python(" \n ") == ""
    assert TypeAdapter(OptionalTitle).validate_python("") == ""
    assert not accepts(Body, " \n\t ")
    assert not accepts(Body, "a\x00b")
    assert not accepts(Description, "a\x1bb")
    assert not accepts(OptionalTitle, "a\nb")


def test_lengths_count_what_was_sent() -> None:
    assert accepts(Name, "a" * 200)
    assert not accepts(Name, "a" * 201)
    assert accepts(Title, "a" * 300)
    assert not accepts(Title, "a" * 301)
    # Counted before stripping: 199 letters and two spaces are 201 characters.
    assert not accepts(Name, " " + "a" * 199 + " ")


SAMPLES = [
    "API",
    "  API  ",
    "\u3000\u6771\u4eac",
    "",
    " ",
    "\u00a0\u2028",
    "a\nb",
    " \n x",
    "a\tb",
    "x\x00",
    "x\x08",
    "x\x1f",
    "x\x7f",
    "x\x9f",
    "x\ufffe",
    "x\uffff",
    "\U0001f680",
    "API\n",
]


@pytest.mark.parametrize("field", TEXT, ids=TEXT_IDS)
def test_the_stated_pattern_is_the_rule_applied(field: Any) -> None:
    stated = ecma(pattern(field))
    for sample in SAMPLES:
        assert (stated.search(sample) is not None) == accepts(field, sample), repr(sample)


@pytest.mark.parametrize("field", [Name, Body], ids=["Name", "Body"])
def test_a_leading_zero_width_no_break_space_is_judged_alike(field: Any) -> None:
    stated = ecma(pattern(field))
    for sample in ["\ufeffAPI", "\ufeff"]:
        assert (stated.search(sample) is not None) == accepts(field, sample), repr(sample)


def test_an_external_id_is_a_token_never_an_email_nor_search() -> None:
    for good in ["cus_1", "shop:42", "A.b-c_9", "searches", "x" * 200]:
        assert accepts(ExternalId, good), good
    for bad in ["", "ada@example.com", "search", "a b", "caf\u00e9", "x" * 201, "id\n"]:
        assert not accepts(ExternalId, bad), bad
    stated = ecma(pattern(ExternalId))
    for sample in ["cus_1", "searches", "search", "ada@example.com", "id\n"]:
        assert (stated.search(sample) is not None) == accepts(ExternalId, sample), sample


def test_integers_are_json_integers_within_their_column() -> None:
    assert TypeAdapter(Position).validate_json("2.0") == 2
    assert accepts(Position, INT32_MIN)
    assert accepts(Position, INT32_MAX)
    assert not accepts(Position, INT32_MAX + 1)
    assert not accepts(Position, INT32_MIN - 1)
    for refused in ["true", '"2"', "2.5"]:
        assert not accepts(Position, refused, json=True), refused
    # A query string's text is a number in Python mode.
    assert TypeAdapter(Limit).validate_python("20") == 20
    assert not accepts(Limit, 0)
    assert not accepts(Limit, 101)
    assert accepts(Limit, 100)


def test_an_instant_needs_its_offset_and_is_kept_in_utc() -> None:
    tokyo = datetime(2024, 1, 2, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert TypeAdapter(Instant).validate_python(tokyo) == datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    assert TypeAdapter(Instant).validate_python(tokyo).utcoffset() == timedelta(0)
    assert not accepts(Instant, datetime(2024, 1, 2, 9, 0))
    assert accepts(Instant, "2024-01-02T09:00:00+09:00")
    # Year 1 at +01:00 is in year 0 once in UTC, which no datetime holds.
    assert not accepts(Instant, "0001-01-01T00:00:00+01:00")


def test_a_time_zone_is_an_iana_name_and_says_so_in_its_schema() -> None:
    assert accepts(TimeZone, "Asia/Tokyo")
    assert accepts(TimeZone, "UTC")
    for bad in ["Mars/Olympus", "+09:00", "", "asia/tokyo"]:
        assert not accepts(TimeZone, bad), bad
    schema = TypeAdapter(TimeZone).json_schema()
    assert (schema["type"], schema["format"]) == ("string", "time-zone")
