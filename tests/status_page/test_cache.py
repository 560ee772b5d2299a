"""The page cache: fast under a rush, never stale across web processes.

Two apps on one database and one Redis stand for two web processes. Nothing here
sleeps or waits for an invalidation to arrive: a GET right after the update's
response must show it.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Callable
from typing import Any

import pytest
import redis
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis
from sqlalchemy import update

from config import Settings
from notifier.tables import Component
from status_page import create_app, keys
from status_page.cache import PageCache, accepts_gzip
from tests.conftest import Client
from tests.workers.test_jobs import Sessions, hours, schedule, tick

WAIT = 10.0  # bounds a wait that should end; never a timing assertion
Headers = dict[str, str]


def page_cache(client: Client) -> PageCache:
    cache = client.app[keys.PAGE_CACHE]
    assert isinstance(cache, PageCache)
    return cache


async def two_processes(aiohttp_client: AiohttpClient, settings: Settings) -> tuple[Client, Client]:
    return await aiohttp_client(create_app(settings)), await aiohttp_client(create_app(settings))


async def post(client: Client, admin: Headers, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1{path}", json=body, headers=admin)
    assert response.status in (200, 201), await response.text()
    result: dict[str, Any] = await response.json()
    return result


async def text(client: Client, path: str, headers: Headers | None = None) -> str:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    return await response.text()


async def test_an_update_through_one_process_shows_at_once_on_another(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    component = await post(web_a, admin, "/components", {"name": "Checkout API"})
    for path in ("/", "/api/v2/summary.json"):
        await text(web_b, path)
        await text(web_b, path)
    assert page_cache(web_b).hits >= 2  # B really serves these from its cache

    incident = await post(
        web_a,
        admin,
        "/incidents",
        {
            "title": "Card payments failing",
            "body": "We are investigating.",
            "components": [{"component_id": component["id"], "status": "major_outage"}],
        },
    )
    assert "Card payments failing" in await text(web_b, "/")
    summary = await (await web_b.get("/api/v2/summary.json")).json()
    assert [i["name"] for i in summary["incidents"]] == ["Card payments failing"]
    assert summary["components"][0]["status"] == "major_outage"

    await post(
        web_a,
        admin,
        f"/incidents/{incident['id']}/updates",
        {"status": "identified", "body": "A certificate expired; renewing it."},
    )
    assert "A certificate expired" in await text(web_b, "/")
    summary = await (await web_b.get("/api/v2/summary.json")).json()
    assert summary["incidents"][0]["status"] == "identified"

    identified = await text(web_b, "/")
    await post(web_a, admin, f"/incidents/{incident['id']}/resolve", {})
    assert await text(web_b, "/") != identified
    unresolved = await (await web_b.get("/api/v2/incidents/unresolved.json")).json()
    assert unresolved["incidents"] == []
    assert (await (await web_b.get("/api/v2/status.json")).json())["status"]["indicator"] == "none"


async def test_maintenance_started_by_the_worker_shows_at_once(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    redis_url: str,
    admin: Headers,
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    db = await post(web_a, admin, "/components", {"name": "Database"})
    await schedule(
        web_a, admin, scheduled_for=hours(-1), scheduled_until=hours(1), components=[db["id"]]
    )
    before = await (await web_b.get("/api/v2/scheduled-maintenances/active.json")).json()
    assert before["scheduled_maintenances"] == []
    await text(web_b, "/api/v2/components.json")

    assert await tick(settings, redis_url) == (1, 0)

    active = await (await web_b.get("/api/v2/scheduled-maintenances/active.json")).json()
    assert [m["status"] for m in active["scheduled_maintenances"]] == ["in_progress"]
    components = await (await web_b.get("/api/v2/components.json")).json()
    assert components["components"][0]["status"] == "under_maintenance"


async def test_a_page_in_another_language_is_not_served_from_the_english_one(
    client: Client,
) -> None:
    english = await client.get("/")
    assert english.headers["Content-Language"] == "en"
    assert '<html lang="en">' in await english.text()

    for headers in ({"Accept-Language": "ja,en;q=0.5"}, {"Cookie": "lang=ja"}):
        japanese = await client.get("/", headers=headers)
        assert japanese.headers["Content-Language"] == "ja"
        assert '<html lang="ja">' in await japanese.text()
    again = await client.get("/")
    assert '<html lang="en">' in await again.text()

    # ?lang= sets the cookie: every time, so such a response is never served from the cache.
    for _ in range(2):
        chosen = await client.get("/?lang=ja")
        assert chosen.cookies["lang"].value == "ja"
        assert '<html lang="ja">' in await chosen.text()


async def test_the_ops_api_and_the_subscriber_pages_are_never_cached(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    cache = page_cache(client)
    component = await post(client, admin, "/components", {"name": "Search"})
    before = (cache.renders, cache.hits, cache.token_reads)
    for _ in range(2):
        listed = await (await client.get("/api/v1/components", headers=admin)).json()
        assert [c["name"] for c in listed["data"]] == ["Search"]
    for path in ("/subscribe", "/manage/x", "/unsubscribe/x", "/dev/outbox", "/healthz"):
        await client.get(path)
        await client.post(path)
    await client.post("/api/v2/summary.json")
    assert (cache.renders, cache.hits, cache.token_reads) == before

    # A change that bypasses the ops API (and so every invalidation) still shows there.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Component).where(Component.id == component["id"]).values(name="Site search")
        )
    listed = await (await client.get("/api/v1/components", headers=admin)).json()
    assert [c["name"] for c in listed["data"]] == ["Site search"]


async def test_conditional_requests_get_304_from_the_cache_and_200_after_a_change(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    await post(web_a, admin, "/components", {"name": "API"})
    # The first request of all is conditional: the cache still renders the full document.
    cold = await web_b.get("/api/v2/summary.json", headers={"If-None-Match": '"stale"'})
    assert cold.status == 200
    etag = cold.headers["ETag"]
    body = await cold.read()

    for _ in range(2):
        same = await web_b.get("/api/v2/summary.json", headers={"If-None-Match": etag})
        assert same.status == 304
        assert await same.read() == b""
        assert same.headers["ETag"] == etag
        assert same.headers["Access-Control-Allow-Origin"] == "*"
        assert same.headers["Cache-Control"] == "public, max-age=10"
    assert await (await web_b.get("/api/v2/summary.json")).read() == body

    await post(web_a, admin, "/components", {"name": "Website"})
    changed = await web_b.get("/api/v2/summary.json", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert "Website" in await changed.text()

    # Pages and feeds get an ETag too, so browsers and feed readers revalidate cheaply.
    for path in ("/", "/feed.atom", "/badge.svg"):
        first = await web_b.get(path)
        again = await web_b.get(path, headers={"If-None-Match": f"W/{first.headers['ETag']}"})
        assert again.status == 304, path


async def test_text_goes_gzipped_to_clients_that_accept_it(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    for name in ("Checkout API", "Website", "Mobile app", "Search", "Email", "SMS"):
        await post(web_a, admin, "/components", {"name": name})
    await post(
        web_a, admin, "/incidents", {"title": "Slow search", "body": "Slow.", "notify": False}
    )
    for path in ("/", "/api/v2/summary.json", "/history"):
        plain = await web_b.get(path, headers={"Accept-Encoding": "identity"})
        zipped = await web_b.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert plain.status == zipped.status == 200
        assert "Content-Encoding" not in plain.headers
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await zipped.read()) == await plain.read(), path
        assert len(await zipped.read()) < len(await plain.read()) / 2, path
        for response in (plain, zipped):
            assert "Accept-Encoding" in response.headers["Vary"], path
        # Two representations, two validators; each revalidates its own.
        assert zipped.headers["ETag"] != plain.headers["ETag"]
        for response, accept in ((plain, "identity"), (zipped, "gzip, deflate")):
            etag = response.headers["ETag"]
            again = await web_b.get(
                path, headers={"Accept-Encoding": accept, "If-None-Match": etag}
            )
            assert again.status == 304, path
            assert again.headers["ETag"] == etag
        refused = await web_b.get(path, headers={"Accept-Encoding": "gzip;q=0, deflate"})
        assert "Content-Encoding" not in refused.headers
        assert await refused.read() == await plain.read()
    # Pages keep their own Vary beside it.
    home = await web_b.get("/", headers={"Accept-Encoding": "gzip"})
    assert home.headers["Vary"] == "Accept-Language, Cookie, Accept-Encoding"
    # Under about a packet, gzip saves nothing worth a client's inflating it.
    small = await web_b.get("/api/v2/status.json", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    assert small.headers["Vary"] == "Accept-Encoding"


async def test_head_answers_with_the_headers_of_get(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    await post(web_a, admin, "/components", {"name": "Checkout API"})
    for path in ("/", "/api/v2/summary.json"):
        for accept in ("identity", "gzip"):
            get = await web_b.get(path, headers={"Accept-Encoding": accept}, auto_decompress=False)
            head = await web_b.head(path, headers={"Accept-Encoding": accept})
            assert head.status == 200
            assert await head.read() == b""
            for name in ("ETag", "Content-Length", "Content-Type", "Vary", "Cache-Control"):
                assert head.headers.get(name) == get.headers.get(name), (path, accept, name)
    renders = page_cache(web_b).renders
    await post(web_a, admin, "/components", {"name": "Website"})
    head = await web_b.head("/api/v2/summary.json")
    assert head.headers["ETag"] != get.headers["ETag"]
    assert page_cache(web_b).renders == renders + 1


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate, br", True),
        ("GZIP;Q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("deflate, br", False),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


async def test_a_rush_after_an_update_renders_the_page_once(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    await text(web_b, "/")
    await post(web_a, admin, "/incidents", {"title": "Login errors", "body": "Looking into it."})
    cache = page_cache(web_b)
    renders = cache.renders

    pages = await asyncio.gather(*(text(web_b, "/") for _ in range(40)))

    assert all("Login errors" in page for page in pages)
    assert cache.renders == renders + 1


class SlowDocument:
    """A document under /api/v2 that renders only when let go, counting its renders."""

    PATH = "/api/v2/slow.json"

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def serve(self, request: web.Request) -> web.Response:
        self.calls += 1
        calls = self.calls
        await self.release.wait()
        return web.json_response({"render": calls})

    async def client(self, aiohttp_client: AiohttpClient, settings: Settings) -> Client:
        app = create_app(settings)
        app.router.add_get(self.PATH, self.serve)
        return await aiohttp_client(app)


async def test_concurrent_misses_wait_for_the_one_render(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    document = SlowDocument()
    client = await document.client(aiohttp_client, settings)
    cache = page_cache(client)

    requests = [asyncio.create_task(client.get(document.PATH)) for _ in range(20)]
    await until(lambda: cache.coalesced == 19)
    document.release.set()
    responses = await asyncio.gather(*requests)

    assert [await r.json() for r in responses] == [{"render": 1}] * 20
    assert (document.calls, cache.renders) == (1, 1)


async def test_an_aged_entry_is_rendered_again_by_one_request_while_others_get_it(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    document = SlowDocument()
    client = await document.client(aiohttp_client, settings)
    cache = page_cache(client)
    document.release.set()
    assert await (await client.get(document.PATH)).json() == {"render": 1}

    cache.max_age = 0  # every entry is now too old
    document.release.clear()
    refreshing = asyncio.create_task(client.get(document.PATH))
    await until(lambda: document.calls == 2)
    # Meanwhile nobody waits: the aged entry has every update, only time has passed.
    assert await (await client.get(document.PATH)).json() == {"render": 1}
    document.release.set()
    assert await (await refreshing).json() == {"render": 2}
    assert await (await client.get(document.PATH)).json() == {"render": 3}


def kill_subscription(client: Client, settings: Settings) -> None:
    """Close the page cache's own Redis connections from Redis's side, as a restart would."""
    subscription = page_cache(client).subscription
    assert subscription is not None
    admin = redis.Redis.from_url(settings.redis_url)
    try:
        admin.client_kill_filter(skipme=True, _type=None, client_name=subscription.client_name)
    finally:
        admin.close()


async def a_process_without_subscription(
    aiohttp_client: AiohttpClient, settings: Settings
) -> Client:
    """A web process whose page cache never hears from pub/sub: it reads the token per request."""

    async def cache_without_subscription(app: web.Application) -> None:
        app[keys.PAGE_CACHE] = PageCache(app[keys.QUEUE])

    app = create_app(settings)
    app.on_startup.append(cache_without_subscription)
    return await aiohttp_client(app)


async def test_a_flushed_redis_does_not_bring_back_an_old_page(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers, sessions: Sessions
) -> None:
    # Without the subscription (the token read per request), a flush is seen at once.
    client = await a_process_without_subscription(aiohttp_client, settings)
    component = await post(client, admin, "/components", {"name": "Mail relay"})
    assert "Mail relay" in await text(client, "/")
    # A change no process was told about, then Redis loses every key (a restart).
    async with sessions() as session, session.begin():
        await session.execute(
            update(Component).where(Component.id == component["id"]).values(name="SMTP relay")
        )
    flusher = redis.Redis.from_url(settings.redis_url)
    flusher.flushdb()
    flusher.close()

    assert "SMTP relay" in await text(client, "/")
    assert page_cache(client).token_reads >= 2


async def test_a_write_after_a_flush_shows_at_once_on_a_process_that_trusts_its_token(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    component = await post(web_a, admin, "/components", {"name": "Mail relay"})
    assert "Mail relay" in await text(web_b, "/")
    # Redis loses the token and the processes' leases; B still trusts its copy.
    flusher = redis.Redis.from_url(settings.redis_url)
    flusher.flushdb()
    flusher.close()

    response = await web_a.patch(
        f"/api/v1/components/{component['id']}", json={"name": "SMTP relay"}, headers=admin
    )
    assert response.status == 200, await response.text()
    assert "SMTP relay" in await text(web_b, "/")


async def test_an_update_shows_at_once_on_a_process_without_its_subscription(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a = await aiohttp_client(create_app(settings))
    web_b = await a_process_without_subscription(aiohttp_client, settings)
    await post(web_a, admin, "/components", {"name": "Checkout API"})
    for _ in range(2):
        assert "Checkout API" in await text(web_b, "/")
    assert page_cache(web_b).hits >= 1
    reads = page_cache(web_b).token_reads

    await post(web_a, admin, "/components", {"name": "Search"})
    assert "Search" in await text(web_b, "/")
    assert page_cache(web_b).token_reads > reads  # B read the token: it had no lease


async def test_an_update_shows_at_once_on_a_process_whose_subscription_was_just_lost(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers
) -> None:
    web_a, web_b = await two_processes(aiohttp_client, settings)
    await post(web_a, admin, "/components", {"name": "Checkout API"})
    await until(lambda: page_cache(web_b).trusted)
    assert "Checkout API" in await text(web_b, "/")
    reads = page_cache(web_b).token_reads
    assert "Checkout API" in await text(web_b, "/")
    assert page_cache(web_b).token_reads == reads  # a hit with no Redis read: B trusts its copy

    # Whether or not B has noticed yet, and wherever it is in reconnecting, the update
    # returns only once B shows it (B acknowledged it, or B's lease ran out).
    for name in ("Search", "Billing", "Login"):
        kill_subscription(web_b, settings)
        await post(web_a, admin, "/components", {"name": name})
        assert name in await text(web_b, "/")
        summary = await (await web_b.get("/api/v2/summary.json")).json()
        assert name in [c["name"] for c in summary["components"]]


class HeldRedis:
    """Redis's GET and SET for one key, where each GET answers only when let go.

    A GET answers with the value at the moment it was sent, as a real one does.
    """

    def __init__(self) -> None:
        self.value = b"old"
        self.gets: list[asyncio.Event] = []

    async def get(self, key: str) -> bytes:
        sent_at = self.value
        held = asyncio.Event()
        self.gets.append(held)
        await held.wait()
        return sent_at

    async def set(self, key: str, value: str, nx: bool = False) -> None:
        self.value = value.encode()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110  (a fake's list has no event)
            await asyncio.sleep(0)


async def test_a_request_never_takes_a_token_read_sent_before_it_arrived() -> None:
    held = HeldRedis()
    cache = PageCache(held)  # type: ignore[arg-type]
    # A read is in flight; then an update (on some process) replaces the token.
    early = asyncio.create_task(cache.token())
    await until(lambda: len(held.gets) == 1)
    held.value = b"new"
    # Requests arriving now must wait for the next read: one read serves them all.
    late = [asyncio.create_task(cache.token()) for _ in range(5)]
    held.gets[0].set()
    assert await early == b"old"
    await until(lambda: len(held.gets) == 2)
    held.gets[1].set()
    assert await asyncio.gather(*late) == [b"new"] * 5
    assert cache.token_reads == 2


async def test_pages_are_rendered_when_redis_cannot_be_read(
    aiohttp_client: AiohttpClient, settings: Settings, admin: Headers, sessions: Sessions
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = Redis.from_url(f"redis://127.0.0.1:{closed}/0")

    async def cache_without_redis(app: web.Application) -> None:
        app[keys.PAGE_CACHE] = PageCache(unreachable)

    app = create_app(settings)
    app.on_startup.append(cache_without_redis)
    client = await aiohttp_client(app)
    component = await post(client, admin, "/components", {"name": "Billing"})
    assert "Billing" in await text(client, "/")
    async with sessions() as session, session.begin():
        await session.execute(
            update(Component).where(Component.id == component["id"]).values(name="Invoices")
        )
    assert "Invoices" in await text(client, "/")
    assert page_cache(client).renders == 0
    await unreachable.aclose()
