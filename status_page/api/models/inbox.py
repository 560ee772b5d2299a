"""The in-app inbox's answers (``/api/v1/inbox``, called by the host application)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from status_page.api.models.common import Output, Page


class InboxRatingOut(Output):
    """The rating prompt an in-app message carries: show the question and one button per
    score from ``min_score`` to ``max_score``; answer with ``POST
    /api/v1/inbox/{id}/rating``. Read from a ``care.inbox_prompts.PromptItem``."""

    scale: Literal["csat", "nps", "ces"] = Field(
        description="csat: 1-5 satisfaction; nps: 0-10 likelihood to recommend; ces: 1-7 "
        "agreement that the information was easy to get."
    )
    min_score: int
    max_score: int
    question: str = Field(description="In the customer's language (ja or en).")
    labels: dict[str, str] = Field(
        description='The words for the two end points, by score: {"1": "Very '
        'dissatisfied", "5": "Very satisfied"}.'
    )
    score: int | None = Field(description="The answer given so far; null before one.")
    comment: str | None
    expires_at: datetime | None = Field(description="After this, answers are refused (409).")


class InboxMessageOut(Output):
    """One in-app message; read from an ``InboxMessage`` row. Times are RFC 3339, in UTC."""

    id: int
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None = Field(description="null while unread.")
    rating: InboxRatingOut | None = Field(
        default=None, description="The rating prompt this message carries; null for others."
    )


class InboxPage(Page[InboxMessageOut]):
    """A page of the user's messages, newest first, and how many are unread in all."""

    unread_count: int


class MarkedRead(Output):
    """The message just marked read, and how many are still unread."""

    data: InboxMessageOut
    unread_count: int


class AllMarkedRead(Output):
    """The answer to marking every message read."""

    marked: int = Field(description="How many messages were unread.")
    unread_count: int
