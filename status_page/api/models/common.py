"""The base of every response model, and the page that wraps a list."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")


# A record's text in other page languages, as stored: {} when it has none.
TranslationsOut = Annotated[
    dict[str, dict[str, str]],
    BeforeValidator(lambda value: value or {}),
    Field(
        description=(
            "The text in other page languages, language -> field -> text, e.g. "
            '{"ja": {"title": "..."}}; {} when there is none.'
        ),
        examples=[{"ja": {"title": "決済エラー"}}],
    ),
]


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
