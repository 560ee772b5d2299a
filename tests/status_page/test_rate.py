"""``/rate/{token}``, the score links of a rating prompt's email (``status_page/rate.py``):
opening one records nothing, the button records the score, then a comment and a change
of score; a bad or expired link is a friendly page."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from tests.conftest import Client
from tests.rating_prompts import follow_ups, make_prompt, rating_of
from tests.status_page.signups import csrf_token

Sessions = async_sessionmaker[AsyncSession]


def score_link(settings: Settings, prompt_id: str, score: int | str) -> str:
    token = links.rating_token(settings.secret_key.get_secret_value(), prompt_id)
    return f"/rate/{token}?score={score}"


def checked(html: str) -> list[str]:
    """The values of the checked score radios."""
    return re.findall(r'name="score" value="(\d+)" checked', html)


async def test_opening_a_score_link_shows_the_score_and_records_nothing(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions)
    link = score_link(settings, made.prompt_id, 4)
    for _ in range(3):  # a mail scanner, a preview, the customer
        page = await client.get(link)
        assert page.status == 200
    html = await page.text()
    assert "How satisfied were you with how we kept you informed?" in html
    assert checked(html) == ["4"]
    assert "Send my answer" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert await rating_of(sessions, made.prompt_id) is None


async def test_the_button_records_the_score_then_a_comment_and_a_change(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions)
    link = score_link(settings, made.prompt_id, 4)
    path = link.partition("?")[0]
    token = await csrf_token(client, link)

    thanks = await client.post(path, data={"csrf_token": token, "score": "4"})
    assert thanks.status == 200
    html = await thanks.text()
    assert "Thank you for your answer" in html
    assert "Comment (optional)" in html
    assert checked(html) == ["4"]
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.channel, rating.comment) == (4, "email", None)

    data = {"csrf_token": token, "score": "2", "comment": "  Too late by an hour.  "}
    changed = await client.post(path, data=data)
    assert changed.status == 200
    assert checked(await changed.text()) == ["2"]
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.comment) == (2, "Too late by an hour.")
    [follow_up] = await follow_ups(sessions)  # 2 is unhappy: a person follows it up
    assert follow_up.rating_id == rating.id

    cleared = await client.post(path, data={"csrf_token": token, "score": "5", "comment": ""})
    assert cleared.status == 200
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.comment) == (5, None)


async def test_a_post_without_the_csrf_field_records_nothing(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions)
    path = score_link(settings, made.prompt_id, 5).partition("?")[0]
    response = await client.post(path, data={"score": "5"})
    assert response.status == 403
    assert await rating_of(sessions, made.prompt_id) is None


@pytest.mark.parametrize(
    "score", ["6", "0", "abc", "-1", "4.5", "", "999999999999", "4.0", "\u0661", "\uff14", "+4"]
)
async def test_a_score_off_the_scale_is_a_friendly_page_offering_them_all(
    client: Client, settings: Settings, sessions: Sessions, score: str
) -> None:
    made = await make_prompt(sessions)
    link = score_link(settings, made.prompt_id, score)
    page = await client.get(link)
    assert page.status == 400
    html = await page.text()
    assert "Please choose a score from 1 to 5." in html
    assert checked(html) == []
    token = await csrf_token(client, score_link(settings, made.prompt_id, 3))
    posted = await client.post(link.partition("?")[0], data={"csrf_token": token, "score": score})
    assert posted.status == 422
    assert "Please choose a score from 1 to 5." in await posted.text()
    assert await rating_of(sessions, made.prompt_id) is None


async def test_a_comment_too_long_is_refused_naming_it_and_kept_in_the_form(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions)
    link = score_link(settings, made.prompt_id, 3)
    token = await csrf_token(client, link)
    data = {"csrf_token": token, "score": "3", "comment": "x" * 2001}
    response = await client.post(link.partition("?")[0], data=data)
    assert response.status == 422
    html = await response.text()
    assert "Please shorten your comment to at most 2000 characters." in html
    assert "x" * 2001 in html
    assert await rating_of(sessions, made.prompt_id) is None


async def test_a_comment_s_line_breaks_count_once_as_the_textarea_counts_them(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    # 2000 characters in the textarea (its maxlength); the browser posts each break as CRLF.
    typed = "x" * 1990 + "ab\n" * 3 + "z"
    assert len(typed) == 2000
    made = await make_prompt(sessions)
    link = score_link(settings, made.prompt_id, 3)
    token = await csrf_token(client, link)
    data = {"csrf_token": token, "score": "3", "comment": typed.replace("\n", "\r\n")}
    response = await client.post(link.partition("?")[0], data=data)
    assert response.status == 200, await response.text()
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert rating.comment == typed


async def test_an_nps_page_offers_0_to_10_with_the_ends_named(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, scale="nps")
    html = await (await client.get(score_link(settings, made.prompt_id, 0))).text()
    assert re.findall(r'name="score" value="(\d+)"', html) == [str(n) for n in range(11)]
    assert checked(html) == ["0"]
    assert "Not at all likely" in html
    assert "Extremely likely" in html


async def test_the_page_is_in_the_customers_language(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, locale="ja")
    page = await client.get(score_link(settings, made.prompt_id, 5))
    assert page.headers["Content-Language"] == "ja"
    html = await page.text()
    assert "私たちからのお知らせの内容やタイミングに" in html
    assert "回答を送信する" in html
    assert "1（とても不満）" in html  # noqa: RUF001 (full-width brackets in Japanese)
    assert "(とても" not in html
    english = await client.get(score_link(settings, made.prompt_id, 5) + "&lang=en")
    english_html = await english.text()
    assert "How satisfied were you" in english_html
    assert "1 (Very dissatisfied)" in english_html


async def test_the_footer_gives_no_time_zone_since_the_page_shows_no_times(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions)
    link = score_link(settings, made.prompt_id, 3)
    html = await (await client.get(link)).text()
    assert "Times in" not in html
    assert "Subscribe to updates" in html  # the rest of the footer stays
    thanks = await client.post(
        link.partition("?")[0], data={"csrf_token": await csrf_token(client, link), "score": "3"}
    )
    assert "Times in" not in await thanks.text()
    japanese = await (await client.get(link + "&lang=ja")).text()
    assert "UTC" not in japanese


@pytest.mark.parametrize(
    "case", ["forged", "other_purpose", "unknown_prompt", "expired", "pending"]
)
async def test_a_bad_or_expired_link_is_a_friendly_404_and_records_nothing(
    client: Client, settings: Settings, sessions: Sessions, case: str
) -> None:
    secret = settings.secret_key.get_secret_value()
    made = await make_prompt(
        sessions,
        expires_in=timedelta(hours=-1) if case == "expired" else timedelta(days=28),
        status="pending" if case == "pending" else "sent",
    )
    token = {
        "forged": links.rating_token("another secret", made.prompt_id),
        "other_purpose": links.manage_token(secret, made.customer_id, "email"),
        "unknown_prompt": links.rating_token(secret, "nosuchprompt"),
    }.get(case, links.rating_token(secret, made.prompt_id))
    page = await client.get(f"/rate/{token}?score=5")
    assert page.status == 404
    assert "This link does not work any more" in await page.text()
    csrf = await csrf_token(client, "/subscribe")
    posted = await client.post(f"/rate/{token}", data={"csrf_token": csrf, "score": "5"})
    assert posted.status == 404
    assert await rating_of(sessions, made.prompt_id) is None


class _Backdated(TimestampSigner):
    """Signs as if ``days`` ago: a link sent then."""

    def __init__(self, secret: str, days: int) -> None:
        super().__init__(secret, salt="forewarn:rating")
        self.days = days

    def get_timestamp(self) -> int:
        return int(time.time()) - self.days * 86_400


async def test_a_link_older_than_link_days_no_longer_works(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, expires_in=timedelta(days=365))
    secret = settings.secret_key.get_secret_value()
    fresh = _Backdated(secret, settings.ratings.link_days - 1).sign(made.prompt_id).decode()
    assert (await client.get(f"/rate/{fresh}?score=5")).status == 200
    stale = _Backdated(secret, settings.ratings.link_days + 1).sign(made.prompt_id).decode()
    assert (await client.get(f"/rate/{stale}?score=5")).status == 404
