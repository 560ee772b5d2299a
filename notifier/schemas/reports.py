"""The query of a report over a period."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from notifier.schemas.common import Input


class Interval(StrEnum):
    """The length of a summary's intervals: calendar days, ISO weeks (Monday first) or
    calendar months, in UTC."""

    day = "day"
    week = "week"
    month = "month"


_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _iso_day(value: object) -> object:
    """Only YYYY-MM-DD: pydantic alone would also take a Unix time ("1700000000")."""
    if isinstance(value, str):
        try:
            if len(value) == 10 and value[4] == value[7] == "-" and value.isascii():
                return date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a calendar date") from None
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DAY}),
]


class SummaryQuery(Input):
    """A period (whole UTC days, `from` to `to`, both included) cut into intervals."""

    from_: Day = Field(alias="from", description="The first day (UTC), YYYY-MM-DD.")
    to: Day = Field(description="The last day (UTC), YYYY-MM-DD; on or after `from`.")
    interval: Interval = Field(
        default=Interval.week,
        description="day, week (ISO, Monday first) or month; at most 1,000 in the period.",
    )
