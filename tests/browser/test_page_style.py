"""Every page shares the page's style: the sign-up form's buttons are the page's, not
the browser's grey, and an unknown address gets the page's own 404, light and dark."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import LOOP, NewPage, Site
from tests.browser.test_home import lightness

pytestmark = LOOP

PHONE = {"width": 390, "height": 844}


async def style_of(page: Page, selector: str, prop: str) -> str:
    value: str = await page.locator(selector).first.evaluate(
        "(el, prop) => getComputedStyle(el)[prop]", prop
    )
    return value


async def link_colour(page: Page) -> str:
    return await style_of(page, "footer a", "color")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_subscribe_button_is_filled_with_the_pages_colour(
    site: Site, new_page: NewPage, artifacts: Path, scheme: str
) -> None:
    page = await new_page(color_scheme=scheme)
    await page.goto("/subscribe")

    button = page.get_by_role("button", name="Subscribe")
    await expect(button).to_be_visible()
    background = await style_of(page, "form.settings button[type=submit]", "backgroundColor")
    text = await style_of(page, "form.settings button[type=submit]", "color")
    # The page's link colour (the brand colour's default), not the browser's grey.
    assert background == await link_colour(page)
    high, low = sorted((lightness(background), lightness(text)), reverse=True)
    assert (high + 0.05) / (low + 0.05) >= 4.5
    await page.screenshot(path=artifacts / f"subscribe-{scheme}.png", full_page=True)


@pytest.mark.parametrize(
    ("lang", "heading"), [("en", "Not found"), ("ja", "ページが見つかりません")]
)
async def test_an_unknown_address_gets_the_pages_own_404_on_a_phone(
    site: Site, new_page: NewPage, artifacts: Path, lang: str, heading: str
) -> None:
    page = await new_page(locale=lang, viewport=PHONE)

    response = await page.goto("/no-such-page")

    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    await expect(page.get_by_role("link", name="Test status")).to_be_visible()
    await expect(page).to_have_title(f"{heading} · Test status")
    # The page's font and width rules, not the browser's defaults.
    assert "system-ui" in await style_of(page, "body", "fontFamily")
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=artifacts / f"not-found-phone-{lang}.png", full_page=True)
