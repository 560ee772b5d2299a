"""Every public URL of the page, rendered by the application itself for the static
snapshot (``notifier.page.snapshot``): the bytes a visitor gets, in each language.

The application (``create_app``, the same one ``forewarn web`` serves) runs on a unix
socket in a private temporary folder of the process that publishes (the worker), and
is asked over HTTP, as a browser would ask it, with the language cookie set for pages.
It is started at the first rendering and kept until ``close``.

Which files a change makes stale (``render``'s ``touched``, the ids of the incidents and
maintenance changed since the ``previous`` rendering): every rendering asks again for
what shows the page as a whole (``/`` and ``/history`` in each language, the eight v2
documents, the page's feeds and badge); the rest is keyed by the records it shows: an
incident's or maintenance's pages by its id, a history month by the ids of what started
in it (and by the list of months, for its links), a component's feeds and badge by the
ids of the incidents that ever affected it. A file is asked for again when one of its
keys was touched, when its keys differ from ``previous``' (an incident moved to another
month, made private) or when it is new; the others keep ``previous``' bytes. The 404 and
paused pages and ``/static/`` change only with the code: a new worker renders them.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from sqlalchemy import select

from config import Settings
from notifier.db import utcnow
from notifier.page import history
from notifier.page.snapshot import File, Rendering, SnapshotError
from notifier.page.statuspage_v2 import NAMES
from notifier.statuses import IncidentKind, MaintenanceStatus
from notifier.tables import Component, Incident, IncidentComponent
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
    """A URL to ask for, the file it becomes, the status it must answer with; ``always``
    asked for, or only when one of its ``keys`` (record ids) was touched."""

    url: str
    path: str
    language: str | None = None
    status: int = 200
    keys: frozenset[str] = frozenset()
    always: bool = False


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

    async def render(
        self, touched: frozenset[str] | None = None, previous: Rendering | None = None
    ) -> Rendering:
        """Every public file: asked for now, or ``previous``' bytes where ``touched``
        (record ids) leaves it as it was (see the module's docstring); every file is asked
        for when either is None. Raises ``SnapshotError`` when a URL does not answer as
        it should (the previous snapshot stays published)."""
        app, client = await self._started()
        wanted = await _wanted(app)
        old = {f.path: f for f in previous.files} if previous is not None else {}
        stale = [w for w in wanted if touched is None or _stale(w, touched, previous, old)]
        # A maintenance's page is published at two paths: ask once.
        asks = {(w.url, w.language, w.status): w for w in stale}
        limit = asyncio.Semaphore(CONCURRENCY)

        async def fetch(want: Wanted) -> File:
            async with limit:
                return await _fetch(client, want)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = {ask: group.create_task(fetch(w)) for ask, w in asks.items()}
        except* (aiohttp.ClientError, TimeoutError) as errors:
            raise SnapshotError(f"the page did not render: {errors.exceptions[0]!r}") from None
        except* SnapshotError as errors:
            raise errors.exceptions[0] from None
        files = []
        for want in wanted:
            task = tasks.get((want.url, want.language, want.status))
            if task is None:
                files.append(old[want.path])
            else:
                rendered = task.result()
                files.append(File(want.path, rendered.body, rendered.content_type, want.language))
        return Rendering(files, {w.path: w.keys for w in wanted}, rendered=len(stale))

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


def _stale(
    want: Wanted, touched: frozenset[str], previous: Rendering | None, old: dict[str, File]
) -> bool:
    """Whether ``want`` must be asked for again rather than taken from ``previous``."""
    if want.always or previous is None or want.path not in old:
        return True
    return previous.keys.get(want.path) != want.keys or not want.keys.isdisjoint(touched)


async def _wanted(app: web.Application) -> list[Wanted]:
    """Every URL of the snapshot, with its keys, from what the database holds now."""
    zone = app[keys.TEMPLATES].zone
    async with app[keys.SESSIONS]() as session:
        shown = await session.execute(
            select(Incident.id, Incident.kind, Incident.started_at)
            .where(Incident.public.is_(True), Incident.status != MaintenanceStatus.cancelled)
            .order_by(Incident.id)
        )
        records = [(record_id, kind, started_at) for record_id, kind, started_at in shown]
        links = (
            await session.execute(
                select(IncidentComponent.component_id, IncidentComponent.incident_id)
            )
        ).all()
        components = (
            await session.scalars(
                select(Component.id).where(Component.visible.is_(True)).order_by(Component.id)
            )
        ).all()
    months = _months(records, zone)
    months_key = "months:" + ",".join(str(m) for m in months)  # each month links its neighbours
    started: dict[str, set[str]] = {str(m): {months_key} for m in months}
    for record_id, _, started_at in records:
        started.get(str(history.Month.containing(started_at, zone)), set()).add(record_id)
    affected: dict[str, set[str]] = {}
    for component_id, incident_id in links:
        affected.setdefault(component_id, set()).add(incident_id)
    wanted: list[Wanted] = []
    for lang in i18n.LANGUAGES:

        def page(url: str, path: str, status: int = 200, lang: str = lang, **more: Any) -> Wanted:
            return Wanted(url, f"{lang}/{path}index.html", lang, status, **more)

        wanted += [page("/", "", always=True), page("/history", "history/", always=True)]
        # Every month at its own address, the current one too: an earlier month's "next"
        # link names it.
        wanted += [
            page(f"/history?month={m}", f"history/{m}/", keys=frozenset(started[str(m)]))
            for m in months
        ]
        for record_id, kind, _ in records:
            own = frozenset({record_id})
            if kind == IncidentKind.maintenance:
                url = f"/maintenance/{record_id}"
                wanted.append(page(url, f"maintenance/{record_id}/", keys=own))
                # Statuspage (and our v2 JSON and feeds) link maintenance as /incidents/{id},
                # where the application redirects: the static page is there as well.
                wanted.append(page(url, f"incidents/{record_id}/", keys=own))
            else:
                wanted.append(page(f"/incidents/{record_id}", f"incidents/{record_id}/", keys=own))
        wanted += [page("/paused", "paused/", 503), page("/404", "404/", 404)]
    wanted += [Wanted(f"/api/v2/{name}", f"api/v2/{name}", always=True) for name in NAMES]
    wanted += [Wanted(f"/{name}", name, always=True) for name in FEEDS]
    for component_id in components:
        # Its feeds list the incidents that affect it; its badge shows the status they give it.
        by = frozenset(affected.get(component_id, ()))
        for name in COMPONENT_FILES:
            url = f"/components/{component_id}/{name}"
            wanted.append(Wanted(url, url.lstrip("/"), keys=by))
    wanted += [Wanted(url, url.lstrip("/")) for url in _static_urls(app)]
    return wanted


def _months(records: list[tuple[str, str, datetime]], zone: ZoneInfo) -> list[history.Month]:
    """The months of history published, newest first: this month, and back to the month
    of the earliest record (``HISTORY_MONTHS`` at most), as each month's page links to
    the one before while something started earlier (``history.month_history``)."""
    months = [history.Month.containing(utcnow(), zone)]
    earliest = min((started_at for _, _, started_at in records), default=None)
    if earliest is None:
        return months
    first = history.Month.containing(earliest, zone)
    while len(months) < HISTORY_MONTHS and first < months[-1]:
        months.append(months[-1].previous)
    return months


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
