"""Every public URL of the page, rendered by the application itself for the static
snapshot (``notifier.page.snapshot``): the bytes a visitor gets, in each language.

The application (``create_app``, the same one ``forewarn web`` serves) runs on a unix
socket in a private temporary folder of the process that publishes (the worker), and
is asked over HTTP, as a browser would ask it, with the language cookie set for pages.
It is started at the first rendering and kept until ``close``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

from config import Settings
from notifier.db import utcnow
from notifier.page import history
from notifier.page.snapshot import File, SnapshotError
from notifier.page.statuspage_v2 import NAMES
from notifier.statuses import IncidentKind, MaintenanceStatus
from notifier.tables import Component, Incident
from status_page import i18n, keys
from status_page.app import create_app

# Requests at once: enough to keep the database and the render busy, not to swamp them.
CONCURRENCY = 8
# Months of history published as pages of their own, at most (newest first).
HISTORY_MONTHS = 36
# Where each language-free document lives in a release: its URL path, less the "/".
FEEDS = ("feed.atom", "feed.rss", "badge.svg")
COMPONENT_FILES = ("feed.atom", "feed.rss", "badge.svg")
STATIC_PREFIX = "/static/"


@dataclass(frozen=True, slots=True)
class Wanted:
    """A URL to ask for, the file it becomes, the status it must answer with."""

    url: str
    path: str
    language: str | None = None
    status: int = 200


class AppRenderer:
    """Renders every public file through ``create_app(settings)`` (``snapshot.Renderer``)."""

    def __init__(self, settings: Settings) -> None:
        # No proxy in front of a unix socket: nothing to read from X-Forwarded-*.
        self._settings = settings.model_copy(update={"proxy_hops": 0})
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._folder: str | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Start the application and compile every template in every language (the
        first rendering of a page costs ten times the next)."""
        app, _ = await self._started()
        templates = app[keys.TEMPLATES]
        for lang in i18n.LANGUAGES:
            environment = templates.environment(lang)
            for name in environment.list_templates(extensions=["html"]):
                environment.get_template(name)

    async def render(self) -> list[File]:
        """Every public file, now. Raises ``SnapshotError`` when a URL does not answer
        as it should (the previous snapshot stays published)."""
        app, client = await self._started()
        wanted = await _wanted(app)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def fetch(want: Wanted) -> File:
            async with limit:
                return await _fetch(client, want)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(fetch(w)) for w in wanted]
        except* (aiohttp.ClientError, TimeoutError) as errors:
            raise SnapshotError(f"the page did not render: {errors.exceptions[0]!r}") from None
        except* SnapshotError as errors:
            raise errors.exceptions[0] from None
        return [t.result() for t in tasks]

    async def close(self) -> None:
        """Stop the application and its client; a later ``render`` starts them again."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    async def _started(self) -> tuple[web.Application, aiohttp.ClientSession]:
        async with self._starting:
            if self._runner is None or self._client is None:
                self._folder = tempfile.mkdtemp(prefix="forewarn-page-")  # mode 0700
                socket = str(Path(self._folder, "app.sock"))
                runner = web.AppRunner(create_app(self._settings), access_log=None)
                await runner.setup()
                await web.UnixSite(runner, socket).start()
                self._runner = runner
                self._client = aiohttp.ClientSession(
                    "http://localhost",
                    connector=aiohttp.UnixConnector(socket),
                    timeout=aiohttp.ClientTimeout(total=60),
                    cookie_jar=aiohttp.DummyCookieJar(),  # the language is ours to say
                )
            return self._runner.app, self._client


async def _fetch(client: aiohttp.ClientSession, want: Wanted) -> File:
    headers = {"Cookie": f"{i18n.COOKIE}={want.language}"} if want.language else {}
    async with client.get(want.url, headers=headers, allow_redirects=False) as answer:
        body = await answer.read()
        if answer.status != want.status:
            raise SnapshotError(f"{want.url} answered {answer.status}, not {want.status}")
        content_type = answer.headers.get("Content-Type", "application/octet-stream")
    return File(path=want.path, body=body, content_type=content_type, language=want.language)


async def _wanted(app: web.Application) -> list[Wanted]:
    """Every URL of the snapshot, from what the database holds now."""
    zone = app[keys.TEMPLATES].zone
    async with app[keys.SESSIONS]() as session:
        records = (
            await session.execute(
                select(Incident.id, Incident.kind)
                .where(Incident.public.is_(True), Incident.status != MaintenanceStatus.cancelled)
                .order_by(Incident.id)
            )
        ).all()
        components = (
            await session.scalars(
                select(Component.id).where(Component.visible.is_(True)).order_by(Component.id)
            )
        ).all()
        months = [history.Month.containing(utcnow(), zone)]
        while len(months) < HISTORY_MONTHS:
            found = await history.month_history(session, months[-1], zone)
            if not found.has_earlier:
                break
            months.append(months[-1].previous)
    wanted: list[Wanted] = []
    for lang in i18n.LANGUAGES:

        def page(url: str, path: str, status: int = 200, lang: str = lang) -> Wanted:
            return Wanted(url, f"{lang}/{path}index.html", lang, status)

        wanted += [page("/", ""), page("/history", "history/")]
        # Every month at its own address, the current one too: an earlier month's "next"
        # link names it.
        wanted += [page(f"/history?month={m}", f"history/{m}/") for m in months]
        for record_id, kind in records:
            if kind == IncidentKind.maintenance:
                wanted.append(page(f"/maintenance/{record_id}", f"maintenance/{record_id}/"))
                # Statuspage (and our v2 JSON and feeds) link maintenance as /incidents/{id},
                # where the application redirects: the static page is there as well.
                wanted.append(page(f"/maintenance/{record_id}", f"incidents/{record_id}/"))
            else:
                wanted.append(page(f"/incidents/{record_id}", f"incidents/{record_id}/"))
        wanted += [page("/paused", "paused/", 503), page("/404", "404/", 404)]
    wanted += [Wanted(f"/api/v2/{name}", f"api/v2/{name}") for name in NAMES]
    wanted += [Wanted(f"/{name}", name) for name in FEEDS]
    for component_id in components:
        for name in COMPONENT_FILES:
            url = f"/components/{component_id}/{name}"
            wanted.append(Wanted(url, url.lstrip("/")))
    wanted += [Wanted(url, url.lstrip("/")) for url in _static_urls(app)]
    return wanted


def _static_urls(app: web.Application) -> list[str]:
    """The URL of every file the application serves under ``/static/`` (none yet)."""
    urls: list[str] = []
    for resource in app.router.resources():
        if isinstance(resource, web.StaticResource) and resource.canonical.startswith("/static"):
            directory = Path(resource.get_info()["directory"])
            for file in sorted(directory.rglob("*")):
                if file.is_file():
                    urls.append(f"{resource.canonical}/{file.relative_to(directory).as_posix()}")
    return urls
