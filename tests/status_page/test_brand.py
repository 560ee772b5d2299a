"""The brand on the public page (``status_page/brand.py``, base.html): the logo linked
to the company's site, the favicon, and the brand colour in the header's stripe, the
buttons and, where it stays readable, the links."""

from __future__ import annotations

from typing import Any

from pytest_aiohttp import AiohttpClient

from config import Settings
from status_page.app import create_app
from status_page.brand import DARK_BG, LIGHT_BG, READABLE, contrast
from tests.conftest import Client, make_settings
from tests.status_page.pages import outline

LOGO = "https://cdn.acme.test/logo.png"
FAVICON = "https://cdn.acme.test/favicon.ico"
COMPANY = "https://www.acme.test/"


async def branded(aiohttp_client: AiohttpClient, settings: Settings, **brand: Any) -> Client:
    values = settings.model_dump(include={"database_url", "redis_url"})
    return await aiohttp_client(create_app(make_settings(**values, **brand)))


def brand_css(page: str) -> str:
    """The :root rules of base.html's brand block (empty when no colour is set)."""
    block = page[page.index("/* Brand and shared controls") :]
    return block[: block.index("</style>")]


def attributes(page: str, tag: str) -> list[dict[str, str | None]]:
    return [attrs for name, attrs in outline(page).tags if name == tag]


async def test_the_logo_links_to_the_company_site_and_the_favicon_is_linked(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await branded(
        aiohttp_client, settings, brand_logo_url=LOGO, favicon_url=FAVICON, company_url=COMPANY
    )

    for path in ("/", "/subscribe", "/history", "/no-such-page"):
        page = await (await client.get(path)).text()
        assert {"rel": "icon", "href": FAVICON} in attributes(page, "link"), path
        logo = f'<a class="brand" href="{COMPANY}"><img src="{LOGO}" alt="Test status"'
        assert logo in page, path


async def test_without_a_logo_the_header_links_back_to_the_company_by_name(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await branded(aiohttp_client, settings, company_url=COMPANY)

    english = await (await client.get("/")).text()
    japanese = await (await client.get("/?lang=ja")).text()

    assert f'<a class="brand" href="{COMPANY}">Back to acme.test</a>' in english
    assert f'<a class="brand" href="{COMPANY}">acme.test へ戻る</a>' in japanese


async def test_a_logo_without_a_company_site_links_to_the_page(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await branded(aiohttp_client, settings, brand_logo_url=LOGO)

    page = await (await client.get("/subscribe")).text()

    assert f'<a class="brand" href="/"><img src="{LOGO}"' in page
    assert not [a for a in attributes(page, "link") if a.get("rel") == "icon"]


async def test_no_brand_set_shows_no_logo_nor_favicon(client: Client) -> None:
    page = await (await client.get("/")).text()

    assert 'class="brand"' not in page
    assert not [a for a in attributes(page, "link") if a.get("rel") == "icon"]
    # Buttons still take the page's own link colour, not the browser's grey.
    assert "--brand: var(--link); --on-brand: var(--bg);" in brand_css(page)


async def test_a_dark_brand_colour_fills_buttons_and_colours_links_in_the_light_scheme(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await branded(aiohttp_client, settings, brand_color="#7B1FA2")

    css = brand_css(await (await client.get("/subscribe")).text())

    assert "--brand: #7b1fa2; --on-brand: #ffffff; }" in css
    assert "not all and (prefers-color-scheme: dark) { :root { --link: #7b1fa2; } }" in css
    # Too dark to read on the dark scheme's background: links keep the page's own.
    assert contrast("#7b1fa2", DARK_BG) < READABLE
    assert "@media (prefers-color-scheme: dark)" not in css


async def test_a_light_brand_colour_gets_dark_button_text_and_leaves_light_links_alone(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await branded(aiohttp_client, settings, brand_color="#ffd400")

    css = brand_css(await (await client.get("/")).text())

    assert contrast("#ffd400", LIGHT_BG) < READABLE
    assert "--brand: #ffd400; --on-brand: #1a1a1a; }" in css
    assert "not all and (prefers-color-scheme: dark)" not in css
    assert "@media (prefers-color-scheme: dark) { :root { --link: #ffd400; } }" in css
