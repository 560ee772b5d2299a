"""The API reference: Swagger UI, from our own server only, on the ops and inbox documents."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Route, expect

from tests.browser.conftest import LOOP, NewPage, Site

pytestmark = LOOP


async def test_the_api_reference_lists_the_operations_from_our_own_server(
    site: Site, new_page: NewPage, artifacts: Path
) -> None:
    page = await new_page(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []
    refused: list[str] = []

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.context.route("**/*", only_local)
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    await page.goto("/api/v1/docs")

    create = page.locator(".opblock-post").filter(has_text="/api/v1/incidents").first
    await expect(create.locator(".opblock-summary-method")).to_have_text("POST")
    await expect(page.get_by_text("/api/v1/components/{component_id}").first).to_be_visible()
    # Opening an operation shows its example body.
    await create.locator(".opblock-summary").first.click()
    await expect(create.get_by_text("Checkout errors").first).to_be_visible()
    await page.screenshot(path=artifacts / "api-docs.png", full_page=False)

    # The second document: the in-app inbox API.
    await page.locator("select#select").select_option(label="In-app inbox API")
    await expect(page.get_by_text("/api/v1/inbox/{message_id}/rating").first).to_be_visible()
    await page.screenshot(path=artifacts / "api-docs-inbox.png", full_page=False)

    assert elsewhere == []
    assert refused == []
