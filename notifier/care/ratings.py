"""Recording an answer to a rating prompt, whichever channel it came by.

Every path (the email score page, an SMS reply, the in-app inbox) calls ``record``:
the prompt's scale decides what is valid, a second answer replaces the first (the
customer changed their mind), and an unhappy score opens a follow-up for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.errors import NotFound
from notifier.scales import Scale
from notifier.tables import FollowUp, Rating, RatingPrompt

# A comment is a few sentences; longer is refused, not cut.
COMMENT_MAX = 2000


class PromptExpired(Exception):
    """The prompt's links and replies are no longer taken (``rating_prompts.expires_at``)."""


@dataclass(frozen=True)
class Recorded:
    """What ``record`` did: the rating, and the follow-up it opened (None: no new one)."""

    rating: Rating
    follow_up: FollowUp | None


async def record(
    session: AsyncSession,
    prompt_id: str,
    score: int,
    *,
    channel: str,
    now: datetime,
    comment: str | None = None,
) -> Recorded:
    """Store ``score`` (and ``comment``, if given) as the answer to ``prompt_id``.

    A later answer replaces the score; a comment left out keeps the one there. A low
    score (``Scale.is_low``) opens one follow-up per rating; changing to a better score
    leaves it open, since a person should still look. The caller commits.

    Raises ``NotFound`` (no such prompt), ``PromptExpired`` (past ``expires_at``) and
    ``ValueError`` (a score off the prompt's scale, or a comment over ``COMMENT_MAX``
    characters).
    """
    prompt = await session.get(RatingPrompt, prompt_id, with_for_update=True)
    if prompt is None:
        raise NotFound("rating prompt", prompt_id)
    if prompt.expires_at is not None and now >= prompt.expires_at:
        raise PromptExpired(prompt_id)
    Scale(prompt.scale).check(score)
    if comment is not None and len(comment) > COMMENT_MAX:
        raise ValueError(f"a comment is at most {COMMENT_MAX} characters")
    rating = await session.scalar(select(Rating).where(Rating.prompt_id == prompt_id))
    if rating is None:
        rating = Rating(
            prompt_id=prompt_id,
            customer_id=prompt.customer_id,
            subject_type=prompt.subject_type,
            subject_id=prompt.subject_id,
            scale=prompt.scale,
            score=score,
            comment=comment,
            channel=channel,
            created_at=now,
            updated_at=now,
        )
        session.add(rating)
    else:
        rating.score, rating.channel, rating.updated_at = score, channel, now
        if comment is not None:
            rating.comment = comment
    await session.flush()
    follow_up = None
    if Scale(prompt.scale).is_low(score):
        opened = await session.scalar(select(FollowUp.id).where(FollowUp.rating_id == rating.id))
        if opened is None:
            follow_up = FollowUp(rating_id=rating.id, created_at=now)
            session.add(follow_up)
            await session.flush()
    return Recorded(rating, follow_up)
