"""The in-app inbox's query, and the answer to a rating prompt in it."""

from __future__ import annotations

from pydantic import Field

from notifier.inbox import Action, Status
from notifier.schemas.common import Input, NumericCursor, PageQuery
from notifier.schemas.fields import Description, MessageId, Score

BATCH_LIMIT = 100


class InboxQuery(PageQuery):
    """A page of the user's in-app messages, newest first: those in ``status`` (left out:
    every message not archived)."""

    cursor: NumericCursor | None = None
    status: Status | None = Field(
        default=None,
        description="unread, read, unseen or seen (of those not archived), archived, or "
        "all (archived too). Left out: every message not archived.",
    )


class InboxBatchIn(Input):
    """One action on several of the user's messages at once (Knock's batch update)."""

    ids: list[MessageId] = Field(min_length=1, max_length=BATCH_LIMIT)
    action: Action = Field(
        description="seen, unseen, read, unread, archive or unarchive: as POST "
        "/api/v1/inbox/{id}/<action>."
    )


class InboxRatingIn(Input):
    """The answer to the rating prompt an in-app message carries: a score on the prompt's
    scale (CSAT 1-5, NPS 0-10, CES 1-7: the message's ``rating.min_score`` to
    ``max_score``) and an optional comment (left out: the one given before stays; empty:
    removed)."""

    score: Score = Field(description="A whole number on the prompt's scale.")
    comment: Description | None = None
