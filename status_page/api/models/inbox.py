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
    seen_at: datetime | None = Field(
        description="When the feed showed it (POST .../seen); null while unseen. Reading "
        "a message sees it too."
    )
    read_at: datetime | None = Field(description="null while unread.")
    archived_at: datetime | None = Field(
        description="When the user archived it; null while in the feed. Archived messages "
        "are listed only with status=archived or all, and counted in nothing."
    )
    rating: InboxRatingOut | None = Field(
        default=None, description="The rating prompt this message carries; null for others."
    )


class InboxCounts(Output):
    """The user's messages not archived: how many are unread, unseen, and in all (the
    bell's badge is usually ``unseen``). Read from a ``notifier.inbox.Counts``."""

    unread: int
    unseen: int
    total: int


class InboxPage(Page[InboxMessageOut]):
    """A page of the user's messages, newest first, and their counts (``unread_count`` is
    ``counts.unread``, kept for clients written before ``counts``)."""

    unread_count: int
    counts: InboxCounts
    manage_url: str | None = Field(
        description="The user's own alert settings page (channels on or off, quiet hours, "
        'what they follow): link it as "Manage alerts". A signed link, fresh with each '
        "list; null when no customer has this user id."
    )


class Marked(Output):
    """The message as it now is, and the user's counts."""

    data: InboxMessageOut
    unread_count: int = Field(description="counts.unread.")
    counts: InboxCounts


class AllMarked(Output):
    """The answer to marking every message (read, seen or archived)."""

    marked: int = Field(description="How many messages were not so before.")
    unread_count: int = Field(description="counts.unread.")
    counts: InboxCounts


class BatchMarked(Output):
    """The messages as they now are, in the order asked, and the user's counts."""

    data: list[InboxMessageOut]
    counts: InboxCounts
