"""SMS replies to a rating prompt through the inbound Twilio webhook
(``status_page/webhooks.py``, ``notifier/care/replies.py``): a score is recorded and
thanked, anything else gets one clarification, STOP still wins, and a number with no
open prompt is answered as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.scales import PromptStatus
from notifier.tables import Consent, Customer, RatingPrompt, Suppression
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeTwilio
from tests.rating_prompts import follow_ups, make_prompt, prompt_row, rating_of
from tests.status_page.test_webhooks import twilio_signed

Sessions = async_sessionmaker[AsyncSession]
PATH = "/webhooks/twilio/inbound"
PHONE = "+818012345678"


@pytest.fixture
async def api(aiohttp_client: object, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))  # type: ignore[operator,no-any-return]


async def reply(api: Client, twilio: FakeTwilio, body: str, phone: str = PHONE) -> str:
    """Send ``body`` from ``phone``; the TwiML answer."""
    form = {"From": phone, "To": "+15005550006", "Body": body}
    response = await api.post(PATH, data=form, headers=twilio_signed(twilio, PATH, form))
    assert response.status == 200
    assert response.content_type == "application/xml"
    return await response.text()


async def test_a_reply_4_is_recorded_and_thanked(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="sms", phone=PHONE)
    answer = await reply(api, twilio, " 4 ")
    assert "<Message>Thank you for your answer." in answer
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.channel, rating.comment) == (4, "sms", None)
    assert await follow_ups(sessions) == []


async def test_a_score_with_words_keeps_them_as_the_comment_and_a_later_one_changes_it(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="sms", phone=PHONE, locale="ja")
    answer = await reply(api, twilio, "\uff12。連絡が遅かったです")  # a full-width 2
    assert "ご回答ありがとうございました" in answer
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.comment) == (2, "連絡が遅かったです")
    assert len(await follow_ups(sessions)) == 1
    await reply(api, twilio, "5")
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.comment) == (5, "連絡が遅かったです")


async def test_maybe_gets_one_clarification_then_is_ignored(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="sms", phone=PHONE)
    first = await reply(api, twilio, "maybe")
    assert "<Message>Please reply with just a number from 1 to 5 (5 is best).</Message>" in first
    assert (await prompt_row(sessions, made.prompt_id)).clarified_at is not None
    second = await reply(api, twilio, "maybe")
    assert "<Message>" not in second
    off_scale = await reply(api, twilio, "9")
    assert "<Message>" not in off_scale
    assert await rating_of(sessions, made.prompt_id) is None
    # A score still counts after the clarification.
    assert "Thank you" in await reply(api, twilio, "3")
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert rating.score == 3


async def test_words_after_a_score_get_no_clarification(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="sms", phone=PHONE)
    await reply(api, twilio, "4")
    assert "<Message>" not in await reply(api, twilio, "thanks!")
    assert (await prompt_row(sessions, made.prompt_id)).clarified_at is None


async def test_an_nps_prompt_takes_0_to_10(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="sms", phone=PHONE, scale="nps")
    assert "0 to 10 (10 is best)" in await reply(api, twilio, "eleven")
    await reply(api, twilio, "10")
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert rating.score == 10


async def test_stop_still_wins_over_an_open_prompt(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="sms", phone=PHONE)
    async with sessions() as session, session.begin():
        consent = Consent(
            customer_id=made.customer_id, channel="sms", method="imported", legal_basis="contract"
        )
        session.add(consent)
    answer = await reply(api, twilio, "STOP")
    assert "<Message>" not in answer  # Twilio's own opt-out answers STOP
    async with sessions() as session:
        [suppression] = (await session.scalars(select(Suppression))).all()
        [consent] = (await session.scalars(select(Consent))).all()
    assert suppression.reason == "stop"
    assert consent.revoked_at is not None
    assert await rating_of(sessions, made.prompt_id) is None
    assert (await prompt_row(sessions, made.prompt_id)).clarified_at is None


@pytest.mark.parametrize(
    ("case", "sent_ago", "expires_in"),
    [
        ("outside the reply window", timedelta(hours=49), timedelta(days=28)),
        ("expired", timedelta(hours=1), timedelta(minutes=-1)),
    ],
)
async def test_a_reply_with_no_open_prompt_is_answered_as_before(
    api: Client,
    twilio: FakeTwilio,
    sessions: Sessions,
    case: str,
    sent_ago: timedelta,
    expires_in: timedelta,
) -> None:
    made = await make_prompt(
        sessions, channel="sms", phone=PHONE, sent_ago=sent_ago, expires_in=expires_in
    )
    for body in ("4", "maybe"):
        assert "<Message>" not in await reply(api, twilio, body), case
    assert await rating_of(sessions, made.prompt_id) is None
    assert (await prompt_row(sessions, made.prompt_id)).clarified_at is None


async def test_a_prompt_cancelled_after_it_was_sent_takes_no_reply(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    """Only a ``sent`` prompt is open: the status is checked, not just the send time
    (nothing cancels a sent prompt today; this keeps the reply path from relying on it)."""
    made = await make_prompt(sessions, channel="sms", phone=PHONE)
    async with sessions() as session, session.begin():
        await session.execute(
            update(RatingPrompt)
            .where(RatingPrompt.id == made.prompt_id)
            .values(status=PromptStatus.cancelled)
        )
    for body in ("4", "maybe"):
        assert "<Message>" not in await reply(api, twilio, body)
    assert await rating_of(sessions, made.prompt_id) is None
    assert (await prompt_row(sessions, made.prompt_id)).clarified_at is None


async def test_an_email_prompt_or_another_number_takes_no_sms_reply(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    by_email = await make_prompt(sessions, channel="email", phone=PHONE)
    by_sms = await make_prompt(sessions, channel="sms", phone="+818099999999", subject_id="inc2")
    assert "<Message>" not in await reply(api, twilio, "4")
    assert await rating_of(sessions, by_email.prompt_id) is None
    assert await rating_of(sessions, by_sms.prompt_id) is None
    async with sessions() as session:
        assert len((await session.scalars(select(Customer))).all()) == 2


async def test_a_reply_answers_the_latest_open_prompt(
    api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    older = await make_prompt(sessions, channel="sms", phone=PHONE, sent_ago=timedelta(hours=5))
    newer = await make_prompt(
        sessions, channel="sms", phone=PHONE, subject_id="inc2", sent_ago=timedelta(hours=2)
    )
    await reply(api, twilio, "5")
    assert await rating_of(sessions, older.prompt_id) is None
    rating = await rating_of(sessions, newer.prompt_id)
    assert rating is not None
    assert rating.score == 5
