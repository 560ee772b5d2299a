"""Recording an answer (``notifier/care/ratings.py``): valid on the prompt's scale, a
second answer replaces the first, a low score opens one follow-up, expiry is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.care import ratings
from notifier.errors import NotFound
from notifier.scales import PromptStatus, Scale, Subject
from notifier.tables import Customer, FollowUp, Rating, RatingPrompt

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


async def _prompt(sessions: Sessions, scale: Scale = Scale.csat) -> str:
    async with sessions() as session, session.begin():
        customer = Customer(email="a@example.com")
        session.add(customer)
        await session.flush()
        prompt = RatingPrompt(
            customer_id=customer.id,
            subject_type=Subject.incident,
            subject_id="inc1",
            scale=scale,
            channel="email",
            status=PromptStatus.sent,
            due_at=NOW,
            sent_at=NOW,
            expires_at=NOW + timedelta(days=28),
        )
        session.add(prompt)
        await session.flush()
        return prompt.id


async def _record(sessions: Sessions, prompt_id: str, score: int, **kw: object) -> ratings.Recorded:
    async with sessions() as session, session.begin():
        return await ratings.record(session, prompt_id, score, channel="email", now=NOW, **kw)  # type: ignore[arg-type]


async def _follow_ups(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(FollowUp)) or 0)


async def test_a_second_answer_replaces_the_first_and_keeps_the_comment(sessions: Sessions) -> None:
    prompt_id = await _prompt(sessions)
    await _record(sessions, prompt_id, 5, comment="Thanks for the texts")
    await _record(sessions, prompt_id, 4)
    async with sessions() as session:
        rows = (await session.scalars(select(Rating))).all()
    assert [(r.score, r.comment, r.subject_id) for r in rows] == [
        (4, "Thanks for the texts", "inc1")
    ]


async def test_a_low_score_opens_one_follow_up_however_often_it_is_given(
    sessions: Sessions,
) -> None:
    prompt_id = await _prompt(sessions)
    assert (await _record(sessions, prompt_id, 3)).follow_up is None
    assert await _follow_ups(sessions) == 0
    assert (await _record(sessions, prompt_id, 2)).follow_up is not None
    assert (await _record(sessions, prompt_id, 1)).follow_up is None  # already open
    assert (await _record(sessions, prompt_id, 5)).follow_up is None
    assert await _follow_ups(sessions) == 1


async def test_an_nps_detractor_is_low_and_a_passive_is_not(sessions: Sessions) -> None:
    passive, detractor = await _prompt(sessions, Scale.nps), None
    assert (await _record(sessions, passive, 7)).follow_up is None
    async with sessions() as session, session.begin():
        customer = Customer(email="b@example.com")
        session.add(customer)
        await session.flush()
        row = RatingPrompt(
            customer_id=customer.id,
            subject_type=Subject.problem,
            subject_id="p1",
            scale=Scale.nps,
            channel="sms",
            status=PromptStatus.sent,
            due_at=NOW,
        )
        session.add(row)
        await session.flush()
        detractor = row.id
    assert (await _record(sessions, detractor, 6)).follow_up is not None


async def test_refused_answers_change_nothing(sessions: Sessions) -> None:
    prompt_id = await _prompt(sessions)
    with pytest.raises(ValueError, match="1 to 5"):
        await _record(sessions, prompt_id, 0)
    with pytest.raises(ValueError, match="at most"):
        await _record(sessions, prompt_id, 5, comment="x" * (ratings.COMMENT_MAX + 1))
    with pytest.raises(NotFound):
        await _record(sessions, "nosuchprompt", 5)
    async with sessions() as session, session.begin():
        with pytest.raises(ratings.PromptExpired):
            await ratings.record(
                session, prompt_id, 5, channel="email", now=NOW + timedelta(days=28)
            )
    async with sessions() as session:
        assert (await session.scalars(select(Rating))).all() == []


async def test_a_changed_answer_is_recorded_with_the_channel_it_came_by(
    sessions: Sessions,
) -> None:
    prompt_id = await _prompt(sessions)
    await _record(sessions, prompt_id, 5)
    async with sessions() as session, session.begin():
        later = NOW + timedelta(hours=1)
        await ratings.record(session, prompt_id, 2, channel="inapp", now=later)
    async with sessions() as session:
        rows = (await session.scalars(select(Rating))).all()
    assert [(r.score, r.channel, r.updated_at) for r in rows] == [(2, "inapp", later)]
