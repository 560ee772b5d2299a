"""The in-app bell (``status_page/static/inbox/forewarn-inbox.js``) on the development
example page, as a host application's user sees it: the count, messages arriving live,
marking read, the keyboard, and message text that is only ever text."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from playwright.async_api import Locator, Page, Route, expect
from redis.asyncio import Redis

from notifier import signing
from status_page.dev_inbox import DEMO_USER
from tests.browser.conftest import LOOP, TIMEOUT_MS, NewPage, Site
from tests.inapp import deliver
from tests.rating_prompts import make_prompt, rating_of

pytestmark = LOOP


@pytest_asyncio.fixture(loop_scope="session")
async def redis(site: Site) -> AsyncIterator[Redis]:
    """Another process's connection: what a worker publishes in-app messages through."""
    client = Redis.from_url(site.settings.redis_url)
    yield client
    await client.aclose()


async def inbox_api(site: Site, path: str, user: str = DEMO_USER) -> Any:
    """The inbox API as the host application's own code calls it, for ``user``."""
    headers = {
        "X-Forewarn-User": user,
        "X-Forewarn-User-Hash": signing.inapp_hash(
            site.settings.secret_key.get_secret_value(), user
        ),
    }
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{site.url}/api/v1/inbox{path}") as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def until_seen(site: Site) -> None:
    """Wait (within the browser tests' timeout) until the API says nothing is unseen."""
    for _ in range(TIMEOUT_MS // 100):
        if (await inbox_api(site, "/counts"))["unseen"] == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("opening the bell did not mark the messages seen")


def bell(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile(r"^(Notifications|お知らせ)"))


def panel(page: Page) -> Locator:
    return page.get_by_role("region", name=re.compile(r"^(Notifications|お知らせ)$"))


def item(page: Page, title: str) -> Locator:
    return panel(page).get_by_role("listitem").filter(has_text=title)


async def open_example(new_page: NewPage, width: int = 1024, **options: Any) -> Page:
    page = await new_page(viewport={"width": width, "height": 800}, **options)
    await page.goto("/dev/inbox-example")
    return page


async def test_the_bell_counts_unread_messages_and_a_new_one_arrives_without_reload(
    site: Site, new_page: NewPage, redis: Redis, artifacts: Path
) -> None:
    await deliver(site.sessions, redis, DEMO_USER, "Checkout errors", "Slow search")
    page = await open_example(new_page)

    await expect(bell(page)).to_have_accessible_name("Notifications, 2 unread")
    await bell(page).click()
    await expect(bell(page)).to_have_attribute("aria-expanded", "true")
    await expect(panel(page).get_by_role("listitem")).to_have_count(2)
    # Newest first; opening the list saw them all.
    await expect(panel(page).get_by_role("listitem").first).to_contain_text("Slow search")
    await until_seen(site)

    await deliver(site.sessions, redis, DEMO_USER, "Payments delayed")

    await expect(panel(page).get_by_role("listitem").first).to_contain_text(
        "Payments delayed: we are on it."
    )
    await expect(bell(page)).to_have_accessible_name("Notifications, 3 unread")
    await page.screenshot(path=artifacts / "inbox-bell-1024.png")


async def test_clicking_a_message_reads_it_and_mark_all_reads_the_rest(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    first, _second, _third = await deliver(site.sessions, redis, DEMO_USER, "A", "B", "C")
    page = await open_example(new_page)
    await bell(page).click()

    await panel(page).get_by_text("A: we are on it.").click()

    await expect(bell(page)).to_have_accessible_name("Notifications, 2 unread")
    [read] = (await inbox_api(site, "?status=read"))["data"]
    assert read["id"] == first
    await expect(item(page, "A: we are on it.")).not_to_contain_text("(Unread)")

    await panel(page).get_by_role("button", name="Mark all as read").click()

    await expect(bell(page)).to_have_accessible_name("Notifications")
    assert (await inbox_api(site, "/counts"))["unread"] == 0
    await expect(panel(page).get_by_text("(Unread)")).to_have_count(0)


async def test_archiving_a_message_takes_it_out_of_the_list(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    await deliver(site.sessions, redis, DEMO_USER, "Old news", "Fresh news")
    page = await open_example(new_page)
    await bell(page).click()

    await panel(page).get_by_role("button", name="Archive: Old news").click()

    await expect(panel(page).get_by_role("listitem")).to_have_count(1)
    await expect(bell(page)).to_have_accessible_name("Notifications, 1 unread")
    assert [m["title"] for m in (await inbox_api(site, "?status=archived"))["data"]] == ["Old news"]


async def test_the_bell_works_from_the_keyboard(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    await deliver(site.sessions, redis, DEMO_USER, "Keyboard")
    page = await open_example(new_page)
    await expect(bell(page)).to_have_accessible_name("Notifications, 1 unread")
    await bell(page).focus()

    await page.keyboard.press("Enter")
    await expect(panel(page)).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(panel(page)).to_be_hidden()
    await expect(bell(page)).to_have_attribute("aria-expanded", "false")
    await expect(bell(page)).to_be_focused()

    await page.keyboard.press("Space")
    await expect(panel(page)).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(panel(page).get_by_role("button", name="Mark all as read")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(panel(page)).to_be_hidden()
    await expect(bell(page)).to_be_focused()


async def test_markup_in_a_message_shows_as_text_on_a_phone_in_japanese(
    site: Site, new_page: NewPage, redis: Redis, artifacts: Path
) -> None:
    title = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    await deliver(site.sessions, redis, DEMO_USER, title)
    page = await new_page(viewport={"width": 375, "height": 740}, locale="ja-JP")
    await page.goto("/dev/inbox-example?lang=ja")

    await expect(bell(page)).to_have_accessible_name("お知らせ（未読 1 件）")  # noqa: RUF001
    await bell(page).click()

    await expect(panel(page).get_by_text(title, exact=True)).to_be_visible()
    await expect(panel(page).get_by_role("button", name="すべて既読にする")).to_be_visible()
    assert await page.evaluate("() => window.pwned") is None
    assert await panel(page).locator("script, img").count() == 0
    # The dropdown fits the phone's screen.
    box = await panel(page).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
    await page.screenshot(path=artifacts / "inbox-bell-375-ja.png")


async def test_a_second_tab_sees_the_count_fall_when_the_first_reads(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    await deliver(site.sessions, redis, DEMO_USER, "Two tabs", "One user")
    first = await open_example(new_page)
    second = await first.context.new_page()
    await second.goto("/dev/inbox-example")
    await expect(bell(second)).to_have_accessible_name("Notifications, 2 unread")

    await bell(first).click()
    await panel(first).get_by_role("button", name="Mark all as read").click()
    await expect(bell(first)).to_have_accessible_name("Notifications")

    # Not reloaded: the stream's counts event tells the second tab.
    await expect(bell(second)).to_have_accessible_name("Notifications", timeout=5_000)


async def test_more_messages_load_with_the_cursor(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    await deliver(site.sessions, redis, DEMO_USER, *(f"Update {n}" for n in range(25)))
    page = await open_example(new_page)
    await bell(page).click()
    await expect(panel(page).get_by_role("listitem")).to_have_count(20)

    await panel(page).get_by_role("button", name="Load more").click()

    await expect(panel(page).get_by_role("listitem")).to_have_count(25)
    await expect(panel(page).get_by_role("button", name="Load more")).to_be_hidden()


async def test_a_rating_prompt_is_answered_from_the_dropdown(site: Site, new_page: NewPage) -> None:
    made = await make_prompt(site.sessions, channel="inapp", inapp_user_id=DEMO_USER)
    page = await open_example(new_page)
    await bell(page).click()

    await panel(page).get_by_role("button", name="5: Very satisfied").click()

    await expect(panel(page).get_by_text("Thank you for your answer.")).to_be_visible()
    rating = await rating_of(site.sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.channel) == (5, "inapp")


def sse(*events: tuple[str, Any, int | None]) -> str:
    """A text/event-stream body, as ``status_page.inbox.stream`` writes one."""
    out = "retry: 50\n\n"
    for name, data, event_id in events:
        out += (f"id: {event_id}\n" if event_id else "") + f"event: {name}\n"
        out += f"data: {json.dumps(data)}\n\n"
    return out


async def test_after_a_gap_the_bell_resyncs_and_shows_each_message_once(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    # The stream is played from here so that it can end and come back: its events are
    # the wire format the server writes (message with id; resync after a gap).
    older, newer = await deliver(site.sessions, redis, DEMO_USER, "Older", "Newer")
    listed = {m["id"]: m for m in (await inbox_api(site, ""))["data"]}
    opened = asyncio.Event()
    third: list[dict[str, Any]] = []
    third_stored = asyncio.Event()
    requests: list[str] = []  # the stream's requests

    async def stream(route: Route) -> None:
        requests.append(route.request.url)
        if len(requests) == 1:
            await opened.wait()  # the list is on screen; now replay one it has
            body = sse(("message", listed[newer], newer))
        elif len(requests) == 2:
            await third_stored.wait()
            body = sse(("message", third[0], third[0]["id"]), ("resync", {"reason": "gap"}, None))
        else:
            await route.fulfill(status=204)  # no more: EventSource stops
            return
        await route.fulfill(status=200, content_type="text/event-stream", body=body)

    page = await new_page(viewport={"width": 1024, "height": 800})
    await page.route("**/inbox/stream?*", stream)
    await page.goto("/dev/inbox-example")
    await bell(page).click()
    await expect(panel(page).get_by_role("listitem")).to_have_count(2)
    opened.set()

    [third_id] = await deliver(site.sessions, redis, DEMO_USER, "Third")
    third.extend(m for m in (await inbox_api(site, ""))["data"] if m["id"] == third_id)
    third_stored.set()

    await expect(panel(page).get_by_role("listitem")).to_have_count(3)
    await expect(panel(page).get_by_role("listitem").first).to_contain_text("Third")
    await expect(bell(page)).to_have_accessible_name("Notifications, 3 unread")
    assert older < newer < third_id


async def test_unmount_removes_the_bell_and_nothing_arrives_after_it(
    site: Site, new_page: NewPage, redis: Redis
) -> None:
    page = await open_example(new_page)
    await expect(bell(page)).to_be_visible()

    await page.evaluate("() => window.forewarnBell.unmount()")

    await expect(bell(page)).to_have_count(0)
    await deliver(site.sessions, redis, DEMO_USER, "After sign-out")
    await expect(page.get_by_text("After sign-out")).to_have_count(0)
