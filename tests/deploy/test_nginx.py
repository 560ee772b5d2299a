"""The shipped nginx configuration (``deploy/nginx/forewarn.conf``), run for real: nginx
on 127.0.0.1 serving a snapshot published by the worker's own publisher
(``tests/deploy/publish.py``), with the app on 127.0.0.1 behind it. Every link of the
published page resolves through it (a crawl).

Forewarn down, page up: with the web processes stopped (or their database gone) the
page, its incidents and the v2 JSON still answer 200 with the last published state,
and the subscribe link answers the paused page (503), never a 502.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from forewarn import demo
from notifier.db import utcnow
from notifier.page.statuspage_v2 import NAMES
from status_page import create_app
from status_page.i18n import from_accept_language
from tests.conftest import make_settings
from tests.deploy.nginx import MISSING, NGINX, Nginx
from tests.deploy.publish import publish

pytestmark = pytest.mark.skipif(not NGINX.exists(), reason=MISSING)

JA = {"Accept-Language": "ja,en-US;q=0.9,en;q=0.8"}  # Chrome's, set to Japanese first


@dataclass
class Site:
    nginx: Nginx
    upstream: TestServer
    settings: Settings
    snapshot: Path
    release: Path
    http: aiohttp.ClientSession  # no cookie jar, no Accept-Encoding unless a test sends one

    def file(self, path: str) -> bytes:
        return (self.snapshot / "current" / path).read_bytes()

    async def get(self, path: str, **headers: str) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.http.get(self.nginx.url + path, headers=headers) as response:
            return response, await response.read()

    async def incident_path(self) -> str:
        unresolved = json.loads(self.file("api/v2/incidents/unresolved.json"))
        return f"/incidents/{unresolved['incidents'][0]['id']}"


async def seeded(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await demo.seed(session, now=utcnow())


@pytest.fixture
async def site(
    aiohttp_server: AiohttpServer,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> AsyncIterator[Site]:
    await seeded(sessions)
    upstream = await aiohttp_server(create_app(settings), host="127.0.0.1")
    snapshot = tmp_path / "snapshot"
    release = await publish(settings, snapshot)
    nginx = Nginx(tmp_path / "nginx", snapshot, f"127.0.0.1:{upstream.port}")
    await nginx.start()
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=["Accept-Encoding"],
        auto_decompress=False,
    ) as http:
        yield Site(nginx, upstream, settings, snapshot, release, http)
    await nginx.stop()
    assert "[emerg]" not in nginx.error_log


def vary(response: aiohttp.ClientResponse) -> set[str]:
    return {v.strip() for value in response.headers.getall("Vary", []) for v in value.split(",")}


# --- the page's language ------------------------------------------------------------------


async def test_the_page_is_english_by_default(site: Site) -> None:
    response, body = await site.get("/")

    assert response.status == 200
    assert body == site.file("en/index.html")
    assert b'<html lang="en"' in body
    assert response.headers["Content-Language"] == "en"


async def test_the_page_is_japanese_for_a_japanese_browser(site: Site) -> None:
    response, body = await site.get("/", **JA)

    assert response.status == 200
    assert body == site.file("ja/index.html")
    assert b'<html lang="ja"' in body
    assert response.headers["Content-Language"] == "ja"


async def test_the_lang_cookie_wins_over_the_browser(site: Site) -> None:
    _, japanese = await site.get("/", Cookie="lang=ja")
    _, english = await site.get("/", Cookie="theme=dark; lang=en", **JA)
    _, unknown = await site.get("/", Cookie="lang=fr", **JA)

    assert japanese == site.file("ja/index.html")
    assert english == site.file("en/index.html")
    assert unknown == site.file("ja/index.html")  # not a language of ours: the header decides


async def test_lang_in_the_query_wins_and_is_remembered_as_the_app_does(site: Site) -> None:
    response, body = await site.get("/history?lang=ja", Cookie="lang=en")

    assert body == site.file("ja/history/index.html")
    cookie = response.cookies["lang"]
    assert cookie.value == "ja"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(365 * 24 * 3600)
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # A response that sets a cookie is the visitor's own.
    assert response.headers["Cache-Control"] == "private, max-age=10"
    plain, _ = await site.get("/history")
    assert "Set-Cookie" not in plain.headers


HEADERS = [
    "en",
    "ja",
    "ja-JP",
    "ja-jp",
    "en-US,en;q=0.9",
    "ja,en-US;q=0.9,en;q=0.8",  # Chrome, Japanese first
    "ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7",
    "en-US,en;q=0.9,ja;q=0.8",  # Chrome, English first
    "en-US,en;q=0.5",  # Firefox
    "ja,en-US;q=0.7,en;q=0.3",  # Firefox, Japanese first
    "fr-FR,fr;q=0.9,ja;q=0.8,en;q=0.7",  # neither first: the first of ours
    "de-DE,de;q=0.9,en;q=0.8,ja;q=0.7",
    "zh-CN,zh;q=0.9",
    "*",
    "ja;q=0,en",
    "ja;q=0.0",
    "en-GB, ja",
    "",
]


async def test_accept_language_is_read_as_the_app_reads_it(site: Site) -> None:
    for header in HEADERS:
        response, body = await site.get("/", **{"Accept-Language": header})

        lang = from_accept_language(header)
        assert response.headers["Content-Language"] == lang, header
        assert body == site.file(f"{lang}/index.html"), header


# --- headers: Vary, Cache-Control, ETag, gzip --------------------------------------------


async def test_pages_vary_by_language_and_language_free_files_do_not(site: Site) -> None:
    page, _ = await site.get(await site.incident_path())
    summary, _ = await site.get("/api/v2/summary.json")
    feed, _ = await site.get("/feed.atom")
    badge, _ = await site.get("/badge.svg")

    assert page.status == summary.status == feed.status == badge.status == 200
    assert vary(page) == {"Accept-Language", "Cookie", "Accept-Encoding"}
    assert page.headers["Cache-Control"] == "public, max-age=10"
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    # Language-free: only the encoding varies.
    assert vary(summary) == vary(feed) == vary(badge) == {"Accept-Encoding"}
    assert summary.headers["Cache-Control"] == "public, max-age=10"  # as /api/v2 says today
    assert summary.headers["Content-Type"] == "application/json; charset=utf-8"
    assert summary.headers["Access-Control-Allow-Origin"] == "*"
    assert feed.headers["Cache-Control"] == "public, max-age=30"  # as the app's feeds
    assert feed.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert badge.headers["Content-Type"].startswith("image/svg+xml")


async def test_a_client_that_accepts_gzip_gets_the_published_gz(site: Site) -> None:
    plain, plain_body = await site.get("/api/v2/summary.json")
    packed, packed_body = await site.get("/api/v2/summary.json", **{"Accept-Encoding": "gzip"})
    page, page_body = await site.get("/", **{"Accept-Encoding": "gzip, br"}, **JA)

    assert "Content-Encoding" not in plain.headers
    assert plain_body == site.file("api/v2/summary.json")
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed_body == site.file("api/v2/summary.json.gz")
    assert page.headers["Content-Encoding"] == "gzip"
    assert page_body == site.file("ja/index.html.gz")
    # Two representations, two validators.
    assert plain.headers["ETag"] != packed.headers["ETag"]


async def test_a_matching_etag_gets_304(site: Site) -> None:
    first, _ = await site.get("/", **JA)
    etag = first.headers["ETag"]

    again, body = await site.get("/", **{"If-None-Match": etag}, **JA)
    english, _ = await site.get("/", **{"If-None-Match": etag})
    summary, _ = await site.get("/api/v2/summary.json")
    summary_again, _ = await site.get(
        "/api/v2/summary.json", **{"If-None-Match": summary.headers["ETag"]}
    )

    assert again.status == 304
    assert body == b""
    assert again.headers["ETag"] == etag
    assert english.status == 200  # another language, another file
    assert summary_again.status == 304


async def test_a_new_release_is_served_at_once(site: Site, admin: dict[str, str]) -> None:
    async with site.http.post(
        site.nginx.url + "/api/v1/incidents",
        json={"title": "Payments delayed", "body": "Card payments are slow.", "notify": False},
        headers=admin,
    ) as posted:
        assert posted.status == 201, await posted.text()
    before, _ = await site.get("/")

    release = await publish(site.settings, site.snapshot)
    after, body = await site.get("/", **{"If-None-Match": before.headers["ETag"]})
    _, summary = await site.get("/api/v2/summary.json")

    assert after.status == 200
    assert b"Payments delayed" in body
    assert b"Payments delayed" in summary
    assert release != site.release
    assert (site.snapshot / "current").resolve() == release


async def test_a_maintenance_linked_as_an_incident_is_sent_on_as_the_app_does(
    site: Site,
) -> None:
    listed = json.loads(site.file("api/v2/scheduled-maintenances.json"))
    ident = listed["scheduled_maintenances"][0]["id"]

    async with site.http.get(
        f"{site.nginx.url}/incidents/{ident}?lang=ja", allow_redirects=False
    ) as response:
        assert response.status == 302
        assert response.headers["Location"].endswith(f"/maintenance/{ident}?lang=ja")
    page, body = await site.get(f"/maintenance/{ident}", Cookie="lang=ja")
    assert (page.status, body) == (200, site.file(f"ja/maintenance/{ident}/index.html"))


async def test_history_months_are_served_from_their_own_pages(site: Site) -> None:
    months = sorted(
        p.parent.name for p in (site.snapshot / "current" / "ja" / "history").glob("*/index.html")
    )
    current, earlier = months[-1], months[:-1]
    assert earlier, "the demo has history before this month"

    plain, body = await site.get("/history", **JA)
    same, named = await site.get(f"/history?month={current}", **JA)
    older, old = await site.get(f"/history?lang=en&month={earlier[-1]}")

    assert (plain.status, body) == (200, site.file("ja/history/index.html"))
    assert (same.status, named) == (200, site.file(f"ja/history/{current}/index.html"))
    assert (older.status, old) == (200, site.file(f"en/history/{earlier[-1]}/index.html"))
    assert older.headers["Content-Language"] == "en"
    assert "Accept-Language" in vary(plain)
    # What the app cannot read as a month is its 404 page; so is a month not published.
    for month in ("2026-13", "26-11", "../../en", "", "1969-12"):
        response, missing = await site.get(f"/history?month={month}", **JA)
        assert (response.status, missing) == (404, site.file("ja/404/index.html")), month


# --- every link of the published page ------------------------------------------------


def links(base: str, body: bytes, public_url: str) -> set[str]:
    """The internal addresses ``body`` (fetched at path ``base``) links to, as paths with
    their query: a page's or feed's href, src and action attributes and RSS ``<link>``s,
    a JSON document's URLs under ``public_url``."""
    text = body.decode()
    if text.startswith("{"):
        found = set(_urls(json.loads(text)))
    else:
        collector = _Links()
        collector.feed(text)
        found = collector.found
    paths = set()
    for link in found:
        absolute = urljoin(f"http://page.test{base}", link)
        if absolute.startswith(public_url):
            absolute = "http://page.test" + absolute.removeprefix(public_url)
        parts = urlsplit(absolute)
        if parts.netloc == "page.test":
            path = parts.path or "/"
            paths.add(f"{path}?{parts.query}" if parts.query else path)
    return paths


def _urls(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [url for value in document.values() for url in _urls(value)]
    if isinstance(document, list):
        return [url for value in document for url in _urls(value)]
    return [document] if isinstance(document, str) and document.startswith("http") else []


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()
        self._in_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_link = tag == "link" and not attrs
        for name, value in attrs:
            if name in ("href", "src", "action") and value and not value.startswith("#"):
                self.found.add(value)

    def handle_data(self, data: str) -> None:
        if self._in_link and data.strip():  # RSS: <link>http://...</link>
            self.found.add(data.strip())
        self._in_link = False


DYNAMIC = re.compile(r"^/(?:subscribe|manage/|unsubscribe/|rate/|dev/|api/v1/|inbox/)")


async def test_every_link_of_the_published_page_resolves_through_nginx(site: Site) -> None:
    """A crawl from ``/`` in each language (and from the 404 and paused pages, which
    nothing links to): every internal link answers 200 through nginx, after a redirect
    at most; a static page's links are followed, a dynamic one is only asked for."""
    public_url = str(site.settings.public_url).rstrip("/")
    queue = [("/", "lang=en"), ("/", "lang=ja")]
    missing, paused = "/no-such-page", site.file("ja/paused/index.html")
    _, not_found = await site.get(missing, **JA)
    pending = {(link, missing) for link in links(missing, not_found, public_url)}
    pending |= {(link, "/subscribe") for link in links("/subscribe", paused, public_url)}
    # A page's links to itself in another language are that page: the 404 page's too.
    pending = {(link, page) for link, page in pending if urlsplit(link).path != page}
    components = json.loads(site.file("api/v2/components.json"))["components"]
    pending |= {
        (f"/components/{c['id']}/{name}", "(components.json)")
        for c in components
        if not c.get("group")
        for name in ("feed.atom", "feed.rss", "badge.svg")
    }
    pending |= {(f"/api/v2/{name}", "(Statuspage's paths)") for name in NAMES}
    pending |= {(f"/?{query}", "(start)") for _, query in queue}
    seen: dict[str, int] = {}
    while pending:
        link, page = pending.pop()
        if link in seen:
            continue
        async with site.http.get(site.nginx.url + link) as response:
            seen[link] = response.status
            body = await response.read()
            final = response.url.path
        assert response.status == 200, f"{link} (linked from {page}): {response.status}"
        if DYNAMIC.match(final):
            continue
        for found in links(link, body, public_url):
            if found not in seen:
                pending.add((found, link))
    pages = [link for link in seen if link.startswith("/incidents/")]
    print(f"\n{len(seen)} internal links through nginx, {len(pages)} to incidents")
    assert any(link.startswith("/history?month=") for link in seen)
    assert any(link.startswith("/maintenance/") for link in seen)
    assert "/subscribe" in seen
    assert "/feed.rss" in seen


# --- unknown addresses ---------------------------------------------------------------------


async def test_an_unknown_address_gets_the_snapshot_404_in_the_visitor_s_language(
    site: Site,
) -> None:
    for path in (
        "/no-such-page",
        "/en/index.html",
        "/manifest.json",
        f"/releases/{site.release.name}/",
        "/en/paused/index.html",
        "/incidents/no-such-id",
    ):
        response, body = await site.get(path, **JA)
        assert (response.status, body) == (404, site.file("ja/404/index.html")), path
        assert "Accept-Language" in vary(response)
    document, problem = await site.get("/api/v2/no-such.json")
    assert document.status == 404
    assert document.headers["Content-Type"] == "application/problem+json"
    assert json.loads(problem)["status"] == 404


# --- dynamic paths reach the web processes ------------------------------------------------


async def test_dynamic_paths_reach_the_web_processes(site: Site, admin: dict[str, str]) -> None:
    subscribe, form = await site.get("/subscribe", **JA)
    health, alive = await site.get("/healthz")
    listed, incidents = await site.get("/api/v1/incidents", **admin)
    refused, problem = await site.get("/api/v1/incidents")
    manage, _ = await site.get("/manage/not-a-token")
    async with site.http.post(site.nginx.url + "/webhooks/twilio/status", data={}) as unsigned:
        assert unsigned.status == 403  # the app's answer, passed through

    assert subscribe.status == 200
    assert b"<form" in form
    assert subscribe.headers["Content-Language"] == "ja"  # the app chose, from the header
    assert (health.status, json.loads(alive)) == (200, {"status": "ok"})
    assert listed.status == 200
    assert json.loads(incidents)["data"]
    assert refused.status == 401
    assert json.loads(problem)["status"] == 401
    assert manage.status in (400, 404)  # the app's own answer, not the paused page
    metrics, _ = await site.get("/metrics")
    assert metrics.status == 404  # Prometheus reads each web process, not the public door


# --- Forewarn down, page up ----------------------------------------------------------------


async def assert_the_page_is_up(site: Site, before: dict[str, bytes]) -> None:
    for path, body in before.items():
        response, now = await site.get(path)
        assert (response.status, now) == (200, body), path


async def assert_subscribing_is_paused(site: Site, *others: str) -> None:
    """``/subscribe`` (and each of ``others``) answers the paused page, in the language."""
    for path, headers, lang in (
        ("/subscribe", {}, "en"),
        ("/subscribe", JA, "ja"),
        ("/subscribe?lang=ja", {}, "ja"),
        *((other, {"Cookie": "lang=ja"}, "ja") for other in others),
    ):
        response, body = await site.get(path, **headers)
        assert response.status == 503, (path, body)
        assert body == site.file(f"{lang}/paused/index.html"), path
        assert response.headers["Retry-After"] == "60"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


async def test_forewarn_down_page_up(site: Site, admin: dict[str, str]) -> None:
    incident = await site.incident_path()
    paths = ("/", incident, "/history", "/api/v2/summary.json", "/feed.atom")
    before = {path: (await site.get(path))[1] for path in paths}

    await site.upstream.close()  # the web processes are gone (and with them DB and Redis)

    await assert_the_page_is_up(site, before)
    _, japanese = await site.get(incident, **JA)
    assert japanese == site.file(f"ja{incident}/index.html")
    await assert_subscribing_is_paused(site, "/manage/some-token", "/unsubscribe/a-token")
    async with site.http.post(site.nginx.url + "/subscribe", data={"email": "x"}) as posted:
        assert posted.status == 503  # a form sent: the same page, not a 405 or a 502
        assert "Subscriptions are paused" in await posted.text()
    for method, path, headers in (
        ("GET", "/api/v1/incidents", admin),
        ("POST", "/webhooks/twilio/status", {}),
        ("GET", "/readyz", {}),
        ("GET", "/inbox/stream", {}),
    ):
        async with site.http.request(method, site.nginx.url + path, headers=headers) as response:
            problem: dict[str, Any] = json.loads(await response.read())
            assert response.status == 503, path
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.headers["Retry-After"] == "60"
            assert problem["status"] == 503


async def test_a_web_process_without_its_database_pauses_subscriptions(
    site: Site, aiohttp_server: AiohttpServer, redis_url: str, tmp_path: Path
) -> None:
    before = {path: (await site.get(path))[1] for path in ("/", "/api/v2/summary.json")}
    # Up, but its database is nowhere: what needs it fails (500), and /readyz says so.
    # (A bad manage token is still the app's 404: it is checked before any query.)
    nowhere = make_settings("postgresql+asyncpg://forewarn@127.0.0.1:9/forewarn", redis_url)
    stranded = await aiohttp_server(create_app(nowhere), host="127.0.0.1")
    nginx = Nginx(tmp_path / "nginx-stranded", site.snapshot, f"127.0.0.1:{stranded.port}")
    await nginx.start()
    site.nginx, healthy = nginx, site.nginx
    try:
        await assert_the_page_is_up(site, before)
        await assert_subscribing_is_paused(site)
        ready, problem = await site.get("/readyz")
        # The app's own answer passes through: it says what failed.
        assert ready.status == 503
        assert json.loads(problem)["checks"]["database"] != "ok"
    finally:
        await nginx.stop()
        site.nginx = healthy
