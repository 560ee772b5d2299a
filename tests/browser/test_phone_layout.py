"""The home page at a phone's width (375 px): the last 30 days only, bars wide enough to
see, labels under them that never break inside a word, and the recent past listed."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import LOOP, NewPage, Site
from tests.browser.test_uptime_bars import outage_today

pytestmark = LOOP

PHONE = {"width": 375, "height": 812}


async def shown_bars(page: Page) -> list[float]:
    """The widths of the day bars a visitor sees (hidden ones have no box)."""
    days = page.locator("ol.days").first.locator("> li")
    await expect(days.first).to_be_attached()
    widths = await days.evaluate_all(
        "days => days.filter(d => d.offsetParent !== null)"
        ".map(d => d.getBoundingClientRect().width)"
    )
    return [float(w) for w in widths]


async def line_count(page: Page, selector: str) -> list[int]:
    """How many lines each element matched takes (1: it did not wrap)."""
    counts = await page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => e.getClientRects().length"
        " && Math.round(e.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(e).lineHeight)))"
    )
    return [int(c) for c in counts]


async def test_a_phone_shows_thirty_readable_days_with_unbroken_labels(
    site: Site, new_page: NewPage, artifacts: Path
) -> None:
    await outage_today(site)
    page = await new_page(viewport=PHONE)

    await page.goto("/")

    widths = await shown_bars(page)
    assert len(widths) == 30
    assert min(widths) >= 6
    scale = page.locator(".scale").first
    await expect(scale).to_contain_text("30 days ago")
    await expect(scale).to_contain_text("Today")
    await expect(scale.get_by_text("90 days ago")).to_be_hidden()
    assert await line_count(page, ".scale > .end") == [1, 1]
    await expect(page.get_by_role("heading", name="Past incidents")).to_be_visible()
    await expect(page.get_by_text("Checkout errors").last).to_be_visible()
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=artifacts / "home-phone-375.png", full_page=True)


async def test_a_phone_in_japanese_shows_thirty_days_too(
    site: Site, new_page: NewPage, artifacts: Path
) -> None:
    await outage_today(site)
    page = await new_page(viewport=PHONE, locale="ja-JP")

    await page.goto("/?lang=ja")

    widths = await shown_bars(page)
    assert len(widths) == 30
    assert min(widths) >= 6
    await expect(page.locator(".scale").first).to_contain_text("30日前")
    assert await line_count(page, ".scale > .end") == [1, 1]
    await page.screenshot(path=artifacts / "home-phone-375-ja.png", full_page=True)


async def test_a_desktop_still_shows_ninety_days(site: Site, new_page: NewPage) -> None:
    await outage_today(site)
    page = await new_page(viewport={"width": 1280, "height": 900})

    await page.goto("/")

    widths = await shown_bars(page)
    assert len(widths) == 90
    assert min(widths) >= 4
    await expect(page.locator(".scale").first).to_contain_text("90 days ago")
    await expect(page.locator(".scale").first.get_by_text("30 days ago")).to_be_hidden()
