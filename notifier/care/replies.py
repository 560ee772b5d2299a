"""SMS replies to a rating prompt: "reply 1-5" answered with a number.

A reply counts when its sender's number belongs to a customer with an SMS prompt sent
within ``FOREWARN_RATINGS__SMS_REPLY_HOURS`` and not expired. A score on the prompt's
scale is recorded (a change of score too) and thanked; anything else, before a score
came, gets one short clarification (``rating_prompts.clarified_at``) and is ignored
after that. The caller handles keywords first (STOP always wins) and gives only the
rest here; a number with no open prompt is not ours to answer (``None``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.care import ratings
from notifier.scales import PromptStatus, Scale
from notifier.statuses import ChannelName
from notifier.tables import Customer, Rating, RatingPrompt

# "4", a full-width 4 (NFKC makes it ASCII), "4." or "4 thanks, quick updates" (a comment).
# After NFKC a full-width "!" is ASCII; the ideographic full stop and comma stay.
_SCORE = re.compile(r"(\d{1,2})(?:[\s.,:;!\u3001\u3002]+(.*))?", re.DOTALL)


class Outcome(StrEnum):
    """What a reply did: ``recorded`` (thank them), ``clarify`` (say how to answer, the
    once), ``ignored`` (an open prompt took it, with nothing to say)."""

    recorded = "recorded"
    clarify = "clarify"
    ignored = "ignored"


@dataclass(frozen=True)
class Reply:
    """The outcome, and the words to answer with (empty for ``ignored``)."""

    outcome: Outcome
    text: str


def _parse(text: str) -> tuple[int, str | None] | None:
    match = _SCORE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    comment = (match.group(2) or "").strip()
    return int(match.group(1)), comment or None


async def open_prompt(
    session: AsyncSession, phone: str, *, now: datetime, reply_hours: float
) -> tuple[RatingPrompt, Customer] | None:
    """The latest SMS prompt sent to ``phone``'s customer within ``reply_hours`` and not
    expired, with its customer; None when there is none."""
    stmt = (
        select(RatingPrompt, Customer)
        .join(Customer, Customer.id == RatingPrompt.customer_id)
        .where(
            Customer.phone == phone,
            RatingPrompt.channel == ChannelName.sms,
            RatingPrompt.status == PromptStatus.sent,
            RatingPrompt.sent_at > now - timedelta(hours=reply_hours),
            or_(RatingPrompt.expires_at.is_(None), RatingPrompt.expires_at > now),
        )
        .order_by(RatingPrompt.sent_at.desc(), RatingPrompt.id)
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def sms_reply(
    session: AsyncSession, phone: str, text: str, *, now: datetime, reply_hours: float
) -> Reply | None:
    """Apply an SMS reply from ``phone`` (E.164) to their open prompt, if any.

    Returns None when there is no open prompt (the caller keeps its usual answer).
    The caller commits.
    """
    found = await open_prompt(session, phone, now=now, reply_hours=reply_hours)
    if found is None:
        return None
    prompt, customer = found
    scale = Scale(prompt.scale)
    parsed = _parse(text)
    if parsed is not None and parsed[0] in scale.scores:
        score, comment = parsed
        await ratings.record(
            session, prompt.id, score, channel=ChannelName.sms, now=now, comment=comment
        )
        return Reply(Outcome.recorded, thanks(customer.locale))
    answered = await session.scalar(select(Rating.id).where(Rating.prompt_id == prompt.id))
    if answered is not None or prompt.clarified_at is not None:
        return Reply(Outcome.ignored, "")
    prompt.clarified_at = now
    return Reply(Outcome.clarify, clarification(scale, customer.locale))


def thanks(locale: str) -> str:
    """The thank-you for a recorded score (one GSM-7 segment in English)."""
    if locale == "ja":
        return "ご回答ありがとうございました。いただいた声を今後のご案内に役立てます。"
    return "Thank you for your answer. It helps us keep you better informed."


def clarification(scale: Scale, locale: str) -> str:
    """How to answer, said once: the scale's range and what its ends mean."""
    low, high = scale.scores[0], scale.scores[-1]
    if locale == "ja":
        return f"{low}から{high}の数字だけでご返信ください（{high}が最も良い評価です）。"  # noqa: RUF001
    return f"Please reply with just a number from {low} to {high} ({high} is best)."
