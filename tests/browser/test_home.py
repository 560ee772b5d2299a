"""The home page during an incident: light and dark, on a desktop and on a phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import LOOP, NewPage, Site, controls_are_named, headings_in_order

pytestmark = LOOP


async def open_incident(site: Site) -> str:
    """Two components, and an incident that takes one of them down."""
    api = (await site.api("POST", "/api/v1/components", {"name": "API"}))["id"]
    await site.api("POST", "/api/v1/components", {"name": "Dashboard"})
    incident = await site.api(
        "POST",
        "/api/v1/incidents",
        {
            "title": "Checkout errors",
            "body": "Some payments fail. We are **on it**.",
            "impact": "major",
            "components": [{"component_id": api, "status": "major_outage"}],
        },
    )
    ident: str = incident["id"]
    return ident


async def background(page: Page) -> str:
    colour: str = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    return colour


def lightness(colour: str) -> float:
    """Relative luminance (WCAG) of a computed ``rgb(r, g, b)`` colour: 0 black, 1 white."""
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", colour)
    assert match, colour
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        for c in (int(v) / 255 for v in match.groups())
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


async def shows_the_incident(page: Page) -> None:
    """What a visitor must see at a glance: the state, the incident and what is down."""
    await expect(page.get_by_role("status")).to_have_text(re.compile(r"Major Service Outage"))
    incidents = page.get_by_role("region", name="Active incidents")
    await expect(incidents.get_by_role("heading", level=3)).to_have_text(
        re.compile(r"^Checkout errors\s+\(major impact\)$")
    )
    await expect(incidents.get_by_text("Investigating", exact=True)).to_be_visible()
    await expect(incidents.get_by_role("paragraph").filter(has_text="payments")).to_have_text(
        "Some payments fail. We are on it."
    )
    components = page.get_by_role("region", name="Components")
    rows = components.locator(".row")
    await expect(rows.filter(has_text="API")).to_contain_text("Major outage")
    await expect(rows.filter(has_text="Dashboard")).to_contain_text("Operational")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_page_shows_an_active_incident_in_light_and_dark_mode(
    site: Site, new_page: NewPage, artifacts: Path, scheme: str
) -> None:
    ident = await open_incident(site)
    page = await new_page(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    await page.goto("/")

    await shows_the_incident(page)
    await headings_in_order(page)
    await controls_are_named(page)
    # Dark mode is a dark page with light text; light mode the other way round.
    back = lightness(await background(page))
    text = lightness(await page.evaluate("() => getComputedStyle(document.body).color"))
    if scheme == "dark":
        assert back < 0.05 < 0.6 < text, (back, text)
    else:
        assert text < 0.05 < 0.9 < back, (text, back)
    await page.screenshot(path=artifacts / f"home-incident-{scheme}.png", full_page=True)

    incidents = page.get_by_role("region", name="Active incidents")
    await incidents.get_by_role("link", name="Checkout errors").click()
    await expect(page).to_have_url(re.compile(rf"/incidents/{ident}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Checkout errors")
    await expect(page.get_by_role("banner")).to_contain_text("Investigating")
    await expect(page.get_by_role("main")).to_contain_text("Some payments fail. We are on it.")
    await headings_in_order(page)
    await page.screenshot(path=artifacts / f"incident-{scheme}.png", full_page=True)


async def test_dark_mode_changes_the_colours_of_the_same_page(
    site: Site, new_page: NewPage
) -> None:
    await open_incident(site)
    light = await new_page(color_scheme="light")
    dark = await new_page(color_scheme="dark")
    for page in (light, dark):
        await page.goto("/")
        await shows_the_incident(page)
    assert await background(light) != await background(dark)
    banner = "() => getComputedStyle(document.querySelector('.banner')).color"
    assert await light.evaluate(banner) != await dark.evaluate(banner)


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_on_a_phone_the_page_fits_without_scrolling_sideways(
    site: Site, new_page: NewPage, artifacts: Path, lang: str
) -> None:
    await open_incident(site)
    page = await new_page(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ja-JP" if lang == "ja" else "en-US",
    )
    await page.goto("/")

    if lang == "ja":
        await expect(page.locator("html")).to_have_attribute("lang", "ja")
        await expect(page.get_by_role("status")).to_have_text(
            re.compile("重大な障害が発生しています")
        )
        incidents = page.get_by_role("region", name="発生中の障害")
        await expect(incidents.get_by_text("調査中", exact=True)).to_be_visible()
        await expect(incidents).to_contain_text("Checkout errors")
    else:
        await shows_the_incident(page)
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px screen"
    await page.screenshot(path=artifacts / f"home-phone-{lang}.png", full_page=True)


async def test_a_visitor_reads_a_past_incident_and_upcoming_maintenance(
    site: Site, new_page: NewPage, artifacts: Path
) -> None:
    ident = await open_incident(site)
    await site.api("POST", f"/api/v1/incidents/{ident}/resolve", {"body": "Payments work again."})
    soon = datetime.now(UTC) + timedelta(hours=2)
    await site.api(
        "POST",
        "/api/v1/maintenance",
        {
            "title": "Database upgrade",
            "body": "Checkout may be slow.",
            "scheduled_for": soon.isoformat(),
            "scheduled_until": (soon + timedelta(hours=1)).isoformat(),
        },
    )
    page = await new_page()
    await page.goto("/")

    await expect(page.get_by_role("status")).to_have_text(re.compile("All Systems Operational"))
    await expect(page.get_by_role("region", name="Active incidents")).to_have_count(0)
    upcoming = page.get_by_role("region", name="Maintenance")
    await expect(upcoming.get_by_role("heading", level=3)).to_have_text(
        re.compile(r"^Database upgrade\s+\(Scheduled\)$")
    )
    await upcoming.get_by_role("link", name="Database upgrade").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Database upgrade")
    await expect(page.get_by_role("main")).to_contain_text("Checkout may be slow.")
    await headings_in_order(page)

    await page.get_by_role("link", name="Incident history").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Incident history")
    await headings_in_order(page)
    past = page.get_by_role("main").get_by_role("listitem").filter(has_text="Checkout errors")
    await expect(past).to_contain_text("Resolved")
    await page.screenshot(path=artifacts / "history.png", full_page=True)
    await past.get_by_role("link", name="Checkout errors").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Checkout errors")
    await expect(page.get_by_role("banner")).to_contain_text("Resolved")
    main = page.get_by_role("main")
    await expect(main).to_contain_text("Payments work again.")
    await expect(main).to_contain_text("Some payments fail. We are on it.")
    await headings_in_order(page)
