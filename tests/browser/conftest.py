"""Browser tests: Playwright for Python driving Debian's Chromium against the real app.

One Chromium for the whole session. The tests, this browser and the site they use run
in pytest-asyncio's session event loop (``pytestmark = LOOP`` in every module), so the
app, its arq worker and the browser's driver share one loop. Each test gets its own
site: the real ``create_app`` on a free 127.0.0.1 port, with the test database and
Redis from ``tests/conftest.py``, its public URL set to that address (so the links
in its messages work), and a real arq worker sending what the app enqueues.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import api_keys
from notifier.db import create_engine, sessionmaker, utcnow
from status_page import create_app
from tests import arq_workers
from tests.conftest import make_settings
from workers import create_worker

LOOP = pytest.mark.asyncio(loop_scope="session")
CHROMIUM = "/usr/bin/chromium"
# This machine's closed network refuses Chromium's own background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
# Generous for a busy two-core CI machine; a passing step takes a fraction of it.
TIMEOUT_MS = 20_000

Sessions = async_sessionmaker[AsyncSession]
NewPage = Callable[..., Awaitable[Page]]

_FAILED = pytest.StashKey[bool]()

expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep the call's report on the item, so the page fixture knows a test failed."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need Debian's chromium "
            "package (apt-get install -y chromium; .ci/run installs it)",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``tests/artifacts/`` (git-ignored): screenshots CI keeps."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    sessions: Sessions
    admin: dict[str, str]

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        """An ops API call with an admin key, as ops staff or their monitoring make it."""
        async with (
            aiohttp.ClientSession(headers=self.admin) as http,
            http.request(method, self.url + path, json=body) as response,
        ):
            assert response.status < 300, f"{method} {path}: {await response.text()}"
            return await response.json()


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest_asyncio.fixture(loop_scope="session")
async def site(database_url: str, redis_url: str) -> AsyncIterator[Site]:
    """The app on 127.0.0.1 and a real (not burst) arq worker, until the test ends."""
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(database_url, redis_url, public_url=url)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(sock.close)
        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        sessions = sessionmaker(engine)
        async with sessions() as session, session.begin():
            _key, secret = await api_keys.create_key(
                session, "browser tests", ["admin"], now=utcnow()
            )
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.SockSite(runner, sock).start()
        worker = create_worker(settings, redis_url, cron_jobs=[], handle_signals=False)
        task = asyncio.create_task(worker.async_run())
        stack.push_async_callback(arq_workers.stop, worker, task)
        yield Site(url, settings, sessions, {"Authorization": f"Bearer {secret}"})


@pytest_asyncio.fixture(loop_scope="session")
async def new_page(
    browser: Browser, site: Site, artifacts: Path, request: pytest.FixtureRequest
) -> AsyncIterator[NewPage]:
    """Open a page in a fresh browser context (``locale``, ``color_scheme``, ``viewport``...).

    A failed test leaves a screenshot of each of its pages in ``tests/artifacts/``.
    """
    contexts: list[BrowserContext] = []

    async def open_page(**options: Any) -> Page:
        context = await browser.new_context(base_url=site.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    failed = request.node.stash.get(_FAILED, False)
    for n, context in enumerate(contexts):
        if failed:
            for m, page in enumerate(context.pages):
                name = re.sub(r"[^\w.-]+", "-", request.node.name)
                with contextlib.suppress(Exception):
                    await page.screenshot(
                        path=artifacts / f"failed-{name}-{n}{m}.png", full_page=True
                    )
        await context.close()


# --- what a person does and sees --------------------------------------------------------------


async def focused_outline(page: Page) -> str:
    """The focused element's computed outline style ('none' when focus is invisible)."""
    style: str = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return parseFloat(s.outlineWidth) > 0 ? s.outlineStyle : 'none'; }"
    )
    return style


async def tab_to(page: Page, target: Locator, *, limit: int = 40) -> None:
    """Press Tab until ``target`` has focus, checking that every stop shows its focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        where = await page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
        assert await focused_outline(page) != "none", f"no visible focus on {where}"
        if await target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


async def headings_in_order(page: Page) -> list[int]:
    """Heading levels in document order; asserts one h1, first, and no skipped level."""
    levels: list[int] = await page.locator("h1, h2, h3, h4, h5, h6").evaluate_all(
        "hs => hs.map(h => Number(h.tagName[1]))"
    )
    assert levels[:1] == [1], f"the first heading is not the h1: {levels}"
    assert levels.count(1) == 1, f"not one h1: {levels}"
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, f"a heading level skipped in {levels}"
    return levels


async def controls_are_named(page: Page) -> int:
    """Every form control on the page has an accessible name; returns how many there are."""
    controls = page.locator(
        "input:not([type=hidden]):not([tabindex='-1']), select, textarea, button"
    )
    count = await controls.count()
    for i in range(count):
        await expect(controls.nth(i)).to_have_accessible_name(re.compile(r"\S"))
    return count


async def outbox_message(page: Page, to: str, subject: str) -> str:
    """Open the dev outbox, as a developer reading 'their inbox' would, and return the
    text of the newest email to ``to`` whose subject contains ``subject``.

    The worker sends in the background: the page is reloaded until it has arrived,
    within Playwright's timeout.
    """
    heading = page.get_by_role("heading", name=f"EMAIL to {to}: ", exact=False).filter(
        has_text=subject
    )
    await page.goto("/dev/outbox")
    # Playwright polls the predicate but does not await a promise it returns: each poll
    # starts one fetch of the JSON outbox (if none is in flight) and reads the last answer.
    await page.wait_for_function(
        """([to, subject]) => {
            window.outboxPoll ??= fetch('/dev/outbox.json?channel=email')
                .then(r => r.json())
                .then(({data}) => {
                    window.outboxHas = data.some(m => m.to === to && m.subject.includes(subject));
                })
                .finally(() => { window.outboxPoll = null; });
            return window.outboxHas === true;
        }""",
        arg=[to, subject],
        polling=100,
    )
    await page.reload()
    article = page.get_by_role("article").filter(has=heading).first
    await expect(article).to_be_visible()
    return await article.locator("pre").inner_text()


def link_in(text: str, site: Site, path: str) -> str:
    """The first link to ``path`` on ``site`` in a message's text."""
    match = re.search(re.escape(site.url + path) + r"[^\s\"<>]+", text)
    assert match, f"no {path} link in {text!r}"
    return match.group(0)
