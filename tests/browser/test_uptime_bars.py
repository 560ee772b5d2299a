"""The 90-day uptime bars: a day's details on hover and on keyboard focus, a way past
them for keyboard users, and bars that shrink to a phone's width."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import LOOP, NewPage, Site, focused_outline, tab_to

pytestmark = LOOP


async def outage_today(site: Site) -> None:
    api = (await site.api("POST", "/api/v1/components", {"name": "API"}))["id"]
    await site.api(
        "POST",
        "/api/v1/incidents",
        {
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "components": [{"component_id": api, "status": "major_outage"}],
        },
    )


async def tip_width(day: Locator) -> float:
    """The rendered width of a day's details: 1 px while hidden (screen readers only)."""
    box = await day.locator(".tip").bounding_box()
    assert box is not None
    return box["width"]


async def today(page: Page) -> Locator:
    days = page.get_by_role("list", name="API: uptime by day").get_by_role("listitem")
    await expect(days.first).to_be_attached()
    return days.filter(has_text="Major outage").last


async def test_focusing_a_day_by_keyboard_shows_its_details_and_incident(
    site: Site, new_page: NewPage, artifacts: Path
) -> None:
    await outage_today(site)
    page = await new_page(viewport={"width": 360, "height": 740})
    await page.goto("/")
    day = await today(page)
    assert await tip_width(day) <= 1

    await tab_to(page, day, limit=120)

    assert await focused_outline(page) != "none"
    tip = day.locator(".tip")
    await expect(tip).to_contain_text("Major outage")
    await expect(tip.get_by_role("link", name="Checkout errors")).to_be_visible()
    box = await tip.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert 0 <= box["x"] <= box["x"] + box["width"] <= 360  # all on the phone's screen
    await page.keyboard.press("Tab")  # on to the incident link inside the details
    await expect(tip.get_by_role("link", name="Checkout errors")).to_be_focused()
    assert await tip_width(day) > 200
    await page.screenshot(path=artifacts / "uptime-day-focused-phone.png", full_page=True)
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360


async def test_hovering_a_day_shows_its_details(site: Site, new_page: NewPage) -> None:
    await outage_today(site)
    page = await new_page(viewport={"width": 1280, "height": 900})
    await page.goto("/")
    day = await today(page)

    await day.hover()

    assert await tip_width(day) > 200
    await expect(day.locator(".tip")).to_contain_text("uptime")


async def test_keyboard_users_can_skip_past_the_bars(site: Site, new_page: NewPage) -> None:
    await outage_today(site)
    page = await new_page()
    await page.goto("/")
    skip = page.get_by_role("link", name="Skip the uptime history")

    await tab_to(page, skip)
    await expect(skip).to_be_visible()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")

    past = page.get_by_role("region", name="Past incidents")
    await expect(past.get_by_role("link", name="Checkout errors")).to_be_focused()
