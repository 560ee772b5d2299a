from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from notifier.errors import InvalidField
from notifier.pagination import decode_cursor

T = TypeVar("T")


class Input(BaseModel):
    """A request body: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class PageQuery(Input):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        # Checked here so that a bad cursor is reported where it was sent: the query.
        if value:
            try:
                decode_cursor(value)
            except InvalidField as exc:
                raise ValueError(exc.detail) from None
        return value
