"""What every request body and query shares: the strict base, the page query, cursors."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from notifier.pagination import CURSOR, NUMERIC_CURSOR
from notifier.schemas.fields import Limit, Matching

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


class PageQuery(Input):
    """A page of a list: `limit` items (1 to 100) after `cursor` (left out: the first page)."""

    limit: Limit = 20
    cursor: Cursor | None = None
