"""The HTML email of each event as a recipient sees it, on a desktop and on a phone, and in
the dev outbox. Screenshots go to the pytest temporary directory (``emails/``)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, expect

from notifier import questions
from notifier.delivery import rendering
from notifier.delivery.channels.base import personalise
from notifier.events import Event
from tests.browser.conftest import LOOP, TIMEOUT_MS, NewPage, Site, outbox_message
from tests.notifier.delivery.test_rendering import LOCALES, NEWS, context, recipient

pytestmark = LOOP

LOGO = "https://cdn.example.test/logo.svg"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    '<rect width="120" height="40" rx="6" fill="#ffffff"/>'
    '<text x="60" y="26" font-size="16" text-anchor="middle" fill="#7b1fa2">LOGO</text></svg>'
)
# (name, width, height)
SCREENS = [("desktop", 1024, 900), ("phone", 375, 740)]
# An update with a long unbroken link: the layout must wrap it, not scroll sideways.
BODY = {
    "en": "Some card payments fail at checkout. We found the cause and are **fixing it**.\n\n"
    "Details: https://status.example.test/incidents/2026-11-23/checkout-errors-in-the-eu-region",
    "ja": "一部のお客様で決済が完了しない事象が発生しています。原因を特定し、**対応中**です。\n\n"
    "詳細: https://status.example.test/incidents/2026-11-23/checkout-errors-in-the-eu-region",
}


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: ``<pytest's temporary directory>/emails``."""
    return tmp_path_factory.mktemp("emails", numbered=False)


def email_html(event: str, locale: str) -> str:
    """``event``'s HTML part as one recipient gets it, with a logo and a brand colour."""
    values = context(event, locale, body=BODY[locale], brand_color="#7b1fa2", brand_logo_url=LOGO)
    content = rendering.render(event, "email", locale, values)
    someone = recipient(locale, "Sam", "http://status.test/unsubscribe/tok", family="Example")
    return personalise(content, someone).html


def rating_html(scale: str, locale: str) -> str:
    """A rating prompt's HTML part on ``scale`` as one recipient gets it, links filled in."""
    values = context(Event.incident_rating, locale, brand_logo_url=LOGO)
    values |= {"scale": scale} | questions.asked(scale, locale)
    content = rendering.render(Event.incident_rating, "email", locale, values)
    someone = recipient(locale, "Sam", "http://status.test/unsubscribe/tok", family="Example")
    links = {f"rating_url_{n}": f"http://status.test/rate/tok?score={n}" for n in range(11)}
    return personalise(content, replace(someone, values=someone.values | links)).html


async def logo(route: Route) -> None:
    await route.fulfill(status=200, content_type="image/svg+xml", body=LOGO_SVG)


async def no_sideways_scroll(page: Page) -> None:
    widths: list[int] = await page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1], f"scrolls sideways: {widths}"


@pytest.mark.parametrize(("screen", "width", "height"), SCREENS)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", NEWS)
async def test_the_email_reads_well_on_a_desktop_and_on_a_phone(
    browser: Browser,
    screenshots: Path,
    event: Event,
    locale: str,
    screen: str,
    width: int,
    height: int,
) -> None:
    values = context(event, locale)
    browsing = await browser.new_context(viewport={"width": width, "height": height})
    try:
        browsing.set_default_timeout(TIMEOUT_MS)
        await browsing.route(LOGO, logo)
        page = await browsing.new_page()
        await page.set_content(email_html(event, locale), wait_until="load")

        await page.screenshot(path=screenshots / f"{event}-{locale}-{screen}.png", full_page=True)

        await no_sideways_scroll(page)
        header = page.locator(".header")
        await expect(header).to_contain_text(values["page_name"])
        assert await header.locator("img").evaluate("img => img.naturalWidth") == 120
        chip = page.locator(".chip")
        await expect(chip).to_have_text(values["status_label"])
        await expect(chip).to_have_css("background-color", re.compile(r"rgb\((?!255, 255, 255)"))
        greeting = "Example様" if locale == "ja" else "Hi Sam,"
        await expect(page.get_by_text(greeting, exact=False)).to_be_visible()
        await expect(page.locator(".update strong")).to_be_visible()
        container = await page.locator(".container").bounding_box()
        assert container is not None
        if screen == "phone":
            assert container["width"] == pytest.approx(width, abs=1)  # edge to edge
        else:
            assert container["width"] <= 602  # 600 and its border
            assert container["x"] == pytest.approx((width - container["width"]) / 2, abs=2)
        buttons = page.locator(".button-link")
        if event.subject == "problem":  # private: no link to the public page
            await expect(buttons).to_have_count(0)
            return
        button = await buttons.bounding_box()
        assert button is not None
        assert button["x"] >= 0
        assert button["x"] + button["width"] <= width
        await expect(buttons).to_have_attribute("href", "http://status.test/")
        await expect(buttons).to_have_css("color", "rgb(255, 255, 255)")
        if screen == "phone":
            # The @media rule makes it a full-width block: an easy target for a thumb.
            assert button["width"] >= width - 2 * 16 - 2
        else:
            assert button["width"] < 400
    finally:
        await browsing.close()


@pytest.mark.parametrize(("screen", "width", "height"), SCREENS)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("scale", ["csat", "nps", "ces"])
async def test_a_rating_prompt_offers_every_score_as_a_link_a_thumb_can_hit(
    browser: Browser,
    screenshots: Path,
    scale: str,
    locale: str,
    screen: str,
    width: int,
    height: int,
) -> None:
    browsing = await browser.new_context(viewport={"width": width, "height": height})
    try:
        browsing.set_default_timeout(TIMEOUT_MS)
        await browsing.route(LOGO, logo)
        page = await browsing.new_page()
        await page.set_content(rating_html(scale, locale), wait_until="load")
        await page.screenshot(
            path=screenshots / f"rating-{scale}-{locale}-{screen}.png", full_page=True
        )

        await no_sideways_scroll(page)
        question = page.locator("strong", has_text=questions.question(scale, locale))
        await expect(question).to_be_visible()
        scores = list(questions.asked(scale, locale)["scores"])
        links = page.locator('a[href*="/rate/"]')
        await expect(links).to_have_count(len(scores))
        for score, link in zip(scores, await links.all(), strict=True):
            await expect(link).to_have_text(str(score))
            await expect(link).to_have_attribute(
                "href", f"http://status.test/rate/tok?score={score}"
            )
            box = await link.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
            # A thumb's target.
            assert box["width"] >= 32
            assert box["height"] >= 36
    finally:
        await browsing.close()


async def test_the_dev_outbox_shows_the_html_part_in_a_sandbox(
    site: Site, new_page: NewPage, screenshots: Path
) -> None:
    await site.api(
        "PUT",
        "/api/v1/customers/sam",
        {
            "given_name": "Sam",
            "email": "sam@example.com",
            "consent": {"channels": ["email"], "legal_basis": "contract"},
            "follows": {"page": True},
        },
    )
    await site.api(
        "POST", "/api/v1/incidents", {"title": "Checkout errors", "body": "Payments **fail**."}
    )
    page = await new_page(viewport={"width": 1024, "height": 900})

    text = await outbox_message(page, "sam@example.com", "Checkout errors")

    assert "Checkout errors" in text
    frame = page.frame_locator("iframe.email-html").first
    await expect(frame.get_by_text("Hi Sam,")).to_be_visible()
    await expect(frame.locator(".chip")).to_have_text("Investigating")
    await expect(
        frame.get_by_role("link", name="Follow it live on our status page")
    ).to_have_attribute("href", site.url + "/")
    # No script runs in it: the sandbox has no allow-scripts, and the CSP allows none.
    sandbox = await page.locator("iframe.email-html").first.get_attribute("sandbox")
    assert sandbox == "allow-popups allow-popups-to-escape-sandbox"
    await page.locator("article").first.screenshot(path=screenshots / "dev-outbox.png")
