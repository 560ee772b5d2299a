"""A customer opens a score link from a rating prompt's email, records the score with the
button, then adds a comment and changes the score: in English and in Japanese, by mouse
and by keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from notifier import links
from tests.browser.conftest import (
    LOOP,
    NewPage,
    Site,
    controls_are_named,
    headings_in_order,
    tab_to,
)
from tests.rating_prompts import make_prompt, rating_of

pytestmark = LOOP

WORDS = {
    "en": {
        "title": "How did we do?",
        "question": "How satisfied were you with how we kept you informed?",
        "send": "Send my answer",
        "thanks": "Thank you for your answer",
        "comment": "Comment (optional)",
        "save": "Save",
        "saved": "Your answer is saved: 5.",
        "invalid": "This link does not work any more",
    },
    "ja": {
        "title": "私たちのご案内はいかがでしたか",
        "question": "私たちからのお知らせの内容やタイミングに、どの程度ご満足いただけましたか？",  # noqa: RUF001
        "send": "回答を送信する",
        "thanks": "ご回答ありがとうございました",
        "comment": "コメント（任意）",  # noqa: RUF001
        "save": "保存する",
        "saved": "ご回答を保存しました：5。",  # noqa: RUF001
        "invalid": "このリンクは無効です",
    },
}


def score_link(site: Site, prompt_id: str, score: int) -> str:
    token = links.rating_token(site.settings.secret_key.get_secret_value(), prompt_id)
    return links.rating_path(token, score)


async def check_accessible(page: Page) -> None:
    await headings_in_order(page)
    await controls_are_named(page)


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_a_customer_rates_with_the_mouse_then_comments_and_changes_the_score(
    site: Site, new_page: NewPage, lang: str
) -> None:
    words = WORDS[lang]
    made = await make_prompt(site.sessions, locale=lang)
    # The customer's saved language wins over the browser's: a Japanese customer on an
    # English browser still reads Japanese.
    page = await new_page(locale="en-US")
    await page.goto(score_link(site, made.prompt_id, 4))
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("heading", level=1)).to_have_text(words["title"])
    group = page.get_by_role("group", name=words["question"])
    await expect(group.get_by_role("radio", name=re.compile(r"^4"))).to_be_checked()
    await check_accessible(page)
    assert await rating_of(site.sessions, made.prompt_id) is None  # opening is no vote

    await page.get_by_role("button", name=words["send"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(words["thanks"])
    await check_accessible(page)
    rating = await rating_of(site.sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.channel) == (4, "email")

    await page.get_by_role("radio", name=re.compile(r"^5")).check()
    await page.get_by_label(words["comment"]).fill("Clear and early.")
    await page.get_by_role("button", name=words["save"]).click()
    await expect(page.get_by_role("status")).to_contain_text(words["saved"])
    await expect(page.get_by_label(words["comment"])).to_have_value("Clear and early.")
    rating = await rating_of(site.sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.comment) == (5, "Clear and early.")


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_a_customer_rates_by_keyboard_alone(site: Site, new_page: NewPage, lang: str) -> None:
    words = WORDS[lang]
    made = await make_prompt(site.sessions, locale=lang)
    page = await new_page(locale="ja-JP" if lang == "ja" else "en-GB")
    await page.goto(score_link(site, made.prompt_id, 3))

    # Tab reaches the chosen score; the arrow keys move the choice, as in any radio group.
    three = page.get_by_role("radio", name=re.compile(r"^3"))
    await tab_to(page, three)
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("radio", name=re.compile(r"^4"))).to_be_checked()
    await tab_to(page, page.get_by_role("button", name=words["send"]))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(words["thanks"])
    rating = await rating_of(site.sessions, made.prompt_id)
    assert rating is not None
    assert rating.score == 4

    comment = page.get_by_label(words["comment"])
    await tab_to(page, comment)
    await page.keyboard.type("Thanks")
    await tab_to(page, page.get_by_role("button", name=words["save"]))
    await page.keyboard.press("Enter")
    await expect(comment).to_have_value("Thanks")
    rating = await rating_of(site.sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.comment) == (4, "Thanks")


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_a_bad_link_is_a_friendly_page_in_the_visitors_language(
    site: Site, new_page: NewPage, lang: str
) -> None:
    page = await new_page(locale="ja-JP" if lang == "ja" else "en-GB")
    response = await page.goto("/rate/not-a-token?score=5")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text(WORDS[lang]["invalid"])
    await headings_in_order(page)
