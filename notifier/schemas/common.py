"""What every ops API model shares: strict input, output from records, cursor pages."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from notifier.pagination import CURSOR, NUMERIC_CURSOR
from notifier.schemas.fields import Limit, Matching

T = TypeVar("T")

_CURSOR_HELP = "Pass a next_cursor given by the previous page; empty or left out: the first page."
_NOT_A_CURSOR = "not a cursor this API handed out"
# Empty is the first page, as if left out.
Cursor = Annotated[str, Matching(f"(?:{CURSOR})?", _NOT_A_CURSOR), Field(description=_CURSOR_HELP)]
NumericCursor = Annotated[
    str, Matching(f"(?:{NUMERIC_CURSOR})?", _NOT_A_CURSOR), Field(description=_CURSOR_HELP)
]


class Input(BaseModel):
    """A request body or query: unknown fields are an error, not silently ignored.

    Every text field is one of the types in ``notifier.schemas.fields``, which strip
    surrounding whitespace after checking what was sent.
    """

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    """A response body, read from a record's attributes."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first."""

    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class PageQuery(Input):
    """The query of a list: up to `limit` items (1 to 100, default 20) after `cursor`."""

    limit: Limit = 20
    cursor: Cursor | None = None
