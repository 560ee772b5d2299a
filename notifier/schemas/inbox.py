"""The in-app inbox's query, and the answer to a rating prompt in it."""

from __future__ import annotations

from pydantic import Field

from notifier.schemas.common import Input, NumericCursor, PageQuery
from notifier.schemas.fields import Description, Score


class InboxQuery(PageQuery):
    """A page of the user's in-app messages, newest first."""

    cursor: NumericCursor | None = None


class InboxRatingIn(Input):
    """The answer to the rating prompt an in-app message carries: a score on the prompt's
    scale (CSAT 1-5, NPS 0-10, CES 1-7: the message's ``rating.min_score`` to
    ``max_score``) and an optional comment (left out: the one given before stays; empty:
    removed)."""

    score: Score = Field(description="A whole number on the prompt's scale.")
    comment: Description | None = None
