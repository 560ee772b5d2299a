"""The base of every response model, and the page that wraps a list."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Output(BaseModel):
    """A response body: read from a record's attributes (``model_validate(row)``)."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list: at most the query's `limit` items (1 to 100, default 20).

    Lists that are never long (components, groups, a subject's notifications) come
    whole, with a null `next_cursor`.
    """

    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
