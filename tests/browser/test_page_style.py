"""Every page shares the page's style: the sign-up form's buttons are the page's, not
the browser's grey, and an unknown address gets the page's own 404, light and dark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Page, expect

from status_page.app import create_app
from tests.browser.conftest import LOOP, NewPage, Site, _free_socket
from tests.browser.test_home import lightness

pytestmark = LOOP

PHONE = {"width": 390, "height": 844}


@pytest_asyncio.fixture(loop_scope="session")
async def branded(site: Site) -> AsyncIterator[str]:
    """A second web process on the same data, with a purple brand, a logo (the page's
    own badge, so no third-party request) and a company site; its URL."""
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = site.settings.model_copy(
        update={
            "brand_color": "#7b1fa2",
            "brand_logo_url": url + "/badge.svg",
            "company_url": site.url + "/history",
        }
    )
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield url
    await runner.cleanup()
    sock.close()


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


async def test_the_brand_colours_the_stripe_and_buttons_and_the_logo_leads_to_the_company(
    branded: str, new_page: NewPage, artifacts: Path, site: Site
) -> None:
    page = await new_page()
    await page.goto(branded + "/subscribe")

    purple = "rgb(123, 31, 162)"
    assert await style_of(page, "form.settings button[type=submit]", "backgroundColor") == purple
    assert (
        await style_of(page, "form.settings button[type=submit]", "color") == "rgb(255, 255, 255)"
    )
    assert await style_of(page, ".topbar", "borderTopColor") == purple
    assert await link_colour(page) == purple
    logo = page.get_by_role("link", name="Test status").filter(has=page.get_by_role("img"))
    await expect(logo.get_by_role("img")).to_have_js_property("complete", True)
    await page.screenshot(path=artifacts / "subscribe-branded.png", full_page=True)
    await logo.click()
    await expect(page).to_have_url(site.url + "/history")


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("en", "Subscriptions are paused"), ("ja", "登録の受付を一時停止しています")],
)
async def test_the_paused_page_a_visitor_meets_while_forewarn_is_down_fits_a_phone(
    site: Site, new_page: NewPage, artifacts: Path, lang: str, heading: str
) -> None:
    # What nginx serves from the published page for /subscribe when no web process answers.
    page = await new_page(locale=lang, viewport=PHONE)

    response = await page.goto("/paused")

    assert response is not None
    assert response.status == 503
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    await expect(page.get_by_role("link", name="Test status")).to_be_visible()
    assert "system-ui" in await style_of(page, "body", "fontFamily")
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=artifacts / f"paused-phone-{lang}.png", full_page=True)
