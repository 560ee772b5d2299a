"""Rating prompts that came as in-app messages, and answering them from the inbox.

An inbox message carries a prompt when its delivery's notification is the prompt's
(``rating_prompts.notification_id``) and the delivery went to the prompt's customer:
one prompt per (notification, customer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import questions
from notifier.care import ratings
from notifier.errors import NotFound
from notifier.scales import Scale
from notifier.statuses import ChannelName
from notifier.tables import Customer, Delivery, InboxMessage, Rating, RatingPrompt


@dataclass(frozen=True)
class PromptItem:
    """What the inbox shows of a prompt: its scale and range, the question and the end
    points' labels in the customer's language, the answer so far, and until when."""

    scale: str
    min_score: int
    max_score: int
    question: str
    labels: dict[int, str]
    score: int | None
    comment: str | None
    expires_at: datetime | None


async def _rows(
    session: AsyncSession, message_ids: Iterable[int]
) -> list[tuple[int, RatingPrompt, str, Rating | None]]:
    stmt = (
        select(InboxMessage.id, RatingPrompt, Customer.locale, Rating)
        .join(Delivery, Delivery.id == InboxMessage.delivery_id)
        .join(
            RatingPrompt,
            and_(
                RatingPrompt.notification_id == Delivery.notification_id,
                RatingPrompt.customer_id == Delivery.customer_id,
            ),
        )
        .join(Customer, Customer.id == RatingPrompt.customer_id)
        .outerjoin(Rating, Rating.prompt_id == RatingPrompt.id)
        .where(InboxMessage.id.in_(list(message_ids)))
    )
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(stmt)).all()]


def _item(prompt: RatingPrompt, locale: str, rating: Rating | None) -> PromptItem:
    scores = Scale(prompt.scale).scores
    return PromptItem(
        scale=prompt.scale,
        min_score=scores[0],
        max_score=scores[-1],
        question=questions.question(prompt.scale, locale),
        labels=questions.labels(prompt.scale, locale),
        score=rating.score if rating else None,
        comment=rating.comment if rating else None,
        expires_at=prompt.expires_at,
    )


async def items(session: AsyncSession, message_ids: Iterable[int]) -> dict[int, PromptItem]:
    """The prompt item of each of ``message_ids`` that carries one (one query)."""
    return {
        message_id: _item(prompt, locale, rating)
        for message_id, prompt, locale, rating in await _rows(session, message_ids)
    }


async def answer(
    session: AsyncSession,
    user_id: str,
    message_id: int,
    score: int,
    *,
    comment: str | None,
    now: datetime,
) -> PromptItem:
    """Record ``score`` (and ``comment``) for the prompt that ``user_id``'s message
    ``message_id`` carries (channel in-app), and mark the message read.

    ``comment``: None keeps the one given before; empty removes it. Raises ``NotFound``
    for another user's or an unknown message, or one that asks for no rating (the same
    answer for each: nothing to probe), and what ``ratings.record`` raises
    (``PromptExpired``, ``ValueError``). The caller commits.
    """
    message = await session.scalar(
        select(InboxMessage).where(InboxMessage.id == message_id, InboxMessage.user_id == user_id)
    )
    found = await _rows(session, [message_id]) if message is not None else []
    if message is None or not found:
        raise NotFound("rating prompt of inbox message", str(message_id))
    _, prompt, locale, _ = found[0]
    recorded = await ratings.record(
        session, prompt.id, score, channel=ChannelName.inapp, now=now, comment=comment
    )
    if comment == "":  # an empty comment takes the one given before away
        recorded.rating.comment = None
    if message.read_at is None:
        message.read_at = now
    return _item(prompt, locale, recorded.rating)
