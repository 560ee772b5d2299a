"""The static page: an ops API write is published to the folder nginx serves, by a real
worker rendering through the application itself, on a real database and Redis.

The waits poll the folder for what a visitor would see, bounded by ``WAIT``; they
assert no time (the delays measured are printed, for the report and ``bench/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Worker
from pytest_aiohttp import AiohttpClient

from config import Settings
from notifier.page.publishing import Publisher
from notifier.page.statuspage_v2 import NAMES
from status_page import create_app
from status_page.snapshot import AppRenderer
from tests import arq_workers
from tests.conftest import Client, make_settings
from workers import create_worker

WAIT = 15.0  # bounds a wait that should end; never a timing assertion
Headers = dict[str, str]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "page"


@pytest.fixture
def publishing(database_url: str, redis_url: str, folder: Path) -> Settings:
    return make_settings(
        database_url,
        redis_url,
        page_time_zone="Asia/Tokyo",
        snapshot={"target": "folder", "dir": str(folder)},
    )


@pytest.fixture
async def web(aiohttp_client: AiohttpClient, publishing: Settings) -> Client:
    return await aiohttp_client(create_app(publishing))


@pytest.fixture
async def worker(publishing: Settings) -> AsyncIterator[Worker]:
    running = create_worker(
        publishing,
        publishing.redis_url,
        renderer=AppRenderer(publishing),
        cron_jobs=[],
        handle_signals=False,
    )
    task = asyncio.create_task(running.async_run())
    yield running
    await arq_workers.stop(running, task)


def publisher(worker: Worker) -> Publisher:
    found = worker.ctx["publisher"]
    assert isinstance(found, Publisher)
    return found


async def post(web: Client, admin: Headers, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await web.post(f"/api/v1{path}", json=body, headers=admin)
    assert response.status in (200, 201), await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


def read(folder: Path, path: str) -> str:
    """A file of the release ``current`` points at now; empty before the first."""
    try:
        return (folder / "current" / path).read_text()
    except FileNotFoundError:
        return ""


async def published(check: Callable[[], bool]) -> float:
    """Seconds until ``check`` holds (``WAIT`` at most: then the test fails)."""
    started = time.perf_counter()
    while not check():
        assert time.perf_counter() - started < WAIT, "not published"
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


def verify(release: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((release / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        body = (release / entry["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["path"]
    return manifest


async def test_an_ops_api_write_is_published_with_every_file_and_its_gz(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    component = await post(web, admin, "/components", {"name": "Checkout API"})
    incident = await post(
        web,
        admin,
        "/incidents",
        {
            "title": "Card payments fail",
            "body": "We are looking into it.",
            "components": [{"component_id": component["id"], "status": "major_outage"}],
        },
    )
    written = time.perf_counter()

    await published(lambda: "Card payments fail" in read(folder, "en/index.html"))
    print(f"\nwrite -> visible in the folder: {time.perf_counter() - written:.3f} s")

    release = (folder / "current").resolve()
    listed = {e["path"] for e in verify(release)["files"]}
    expected = {f"api/v2/{name}" for name in NAMES} | {"feed.atom", "feed.rss", "badge.svg"}
    expected |= {f"components/{component['id']}/{n}" for n in ("feed.atom", "feed.rss")}
    expected |= {f"components/{component['id']}/badge.svg"}
    for lang in ("en", "ja"):
        for page in ("", "history/", f"incidents/{incident['id']}/", "paused/", "404/"):
            expected.add(f"{lang}/{page}index.html")
    for path in expected:
        assert path in listed, path
        plain = (release / path).read_bytes()
        assert gzip.decompress((release / f"{path}.gz").read_bytes()) == plain, path
    summary = json.loads((release / "api/v2/summary.json").read_text())
    assert [i["name"] for i in summary["incidents"]] == ["Card payments fail"]
    # The same bytes a visitor gets from the application (pages with no "ongoing for").
    for url, path in [
        ("/api/v2/incidents.json", "api/v2/incidents.json"),
        ("/404", "ja/404/index.html"),
    ]:
        answer = await web.get(url, cookies={"lang": "ja"})
        assert await answer.read() == (release / path).read_bytes(), url


async def test_the_japanese_tree_is_in_japanese(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    await post(web, admin, "/components", {"name": "Website"})

    await published(lambda: "Website" in read(folder, "ja/index.html"))

    assert '<html lang="ja">' in read(folder, "ja/index.html")
    assert '<html lang="en">' in read(folder, "en/index.html")
    assert "登録の受付を一時停止しています" in read(folder, "ja/paused/index.html")
    assert "Subscriptions are paused" in read(folder, "en/paused/index.html")
    assert 'href="/"' in read(folder, "en/paused/index.html")
    assert "ページが見つかりません" in read(folder, "ja/404/index.html")
    assert "Not found" in read(folder, "en/404/index.html")
    # The application answers /paused as the web server in front serves it: 503.
    paused = await web.get("/paused", headers={"Accept-Language": "ja"})
    assert paused.status == 503
    assert paused.headers["Retry-After"] == "120"
    assert await paused.read() == (folder / "current/ja/paused/index.html").read_bytes()


async def test_private_and_cancelled_records_are_not_published(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    hidden = await post(
        web, admin, "/incidents", {"title": "Internal only", "body": "x", "public": False}
    )
    window = {"scheduled_for": "2030-01-01T02:00:00Z", "scheduled_until": "2030-01-01T04:00:00Z"}
    cancelled = await post(
        web, admin, "/maintenance", {"title": "Called off", "body": "x", **window}
    )
    kept = await post(web, admin, "/maintenance", {"title": "Disk swap", "body": "x", **window})
    await post(web, admin, f"/maintenance/{cancelled['id']}/cancel", {})
    await post(web, admin, "/components", {"name": "Last write"})

    await published(lambda: "Last write" in read(folder, "en/index.html"))

    release = (folder / "current").resolve()
    everything = "".join(
        p.read_text() for p in release.rglob("*") if p.suffix != ".gz" and p.is_file()
    )
    assert "Internal only" not in everything
    assert "Called off" not in everything
    for lang in ("en", "ja"):
        assert not (release / lang / "incidents" / hidden["id"]).exists()
        assert not (release / lang / "maintenance" / cancelled["id"]).exists()
        # Maintenance is at /maintenance/{id}, and at /incidents/{id} where v2 links it.
        assert "Disk swap" in read(folder, f"{lang}/maintenance/{kept['id']}/index.html")
        assert "Disk swap" in read(folder, f"{lang}/incidents/{kept['id']}/index.html")


@contextlib.contextmanager
def releases_read(folder: Path, check: Callable[[Path], object]) -> Iterator[list[BaseException]]:
    """While the block runs, a thread checks the release ``current`` points to, again and
    again; the list it yields holds the first failure (empty: every read was whole)."""
    stop = threading.Event()
    problems: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                check((folder / "current").resolve())
            except FileNotFoundError:
                continue  # pruned while read: three releases behind
            except BaseException as exc:
                problems.append(exc)
                return

    watching = threading.Thread(target=reader)
    watching.start()
    try:
        yield problems
    finally:
        stop.set()
        watching.join()


async def test_a_burst_of_writes_publishes_a_few_times_and_readers_see_whole_releases(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    await post(web, admin, "/components", {"name": "Warm-up"})
    await published(lambda: "Warm-up" in read(folder, "en/index.html"))
    before = publisher(worker).publications
    with releases_read(folder, verify) as problems:
        for n in range(30):
            await post(web, admin, "/components", {"name": f"Service {n:02d}"})
        written = time.perf_counter()
        await published(lambda: "Service 29" in read(folder, "en/index.html"))
        delay = time.perf_counter() - written
        await asyncio.sleep(1.0)  # any publication still to come comes now

    count = publisher(worker).publications - before
    print(f"\n30 writes: {count} publications; last write -> visible {delay:.3f} s")
    assert not problems
    assert 1 <= count <= 6
    assert "Service 29" in read(folder, "ja/index.html")


def release_files(release: Path) -> dict[str, str]:
    """Path to sha256 of every file the release's manifest lists (each checked)."""
    return {e["path"]: e["sha256"] for e in verify(release)["files"]}


async def test_an_update_renders_its_incident_and_the_page_and_keeps_the_other_pages(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    component = await post(web, admin, "/components", {"name": "Checkout API"})
    affects = [{"component_id": component["id"], "status": "partial_outage"}]
    a = await post(web, admin, "/incidents", {"title": "Slow checkout", "body": "x"})
    b = await post(
        web, admin, "/incidents", {"title": "Card errors", "body": "y", "components": affects}
    )
    await published(lambda: "Card errors" in read(folder, "en/index.html"))
    before = (folder / "current").resolve()
    old = release_files(before)

    await post(
        web, admin, f"/incidents/{a['id']}/updates", {"status": "identified", "body": "Found it."}
    )
    await published(lambda: "Found it." in read(folder, "en/index.html"))

    after = (folder / "current").resolve()
    new = release_files(after)
    assert after != before
    assert set(new) == set(old)  # a whole release: every file, none borrowed from another
    for lang in ("en", "ja"):
        assert "Found it." in read(folder, f"{lang}/incidents/{a['id']}/index.html")
        assert "Found it." in read(folder, f"{lang}/index.html")
        page = f"{lang}/incidents/{b['id']}/index.html"
        assert "Card errors" in read(folder, page)
        assert (after / page).read_bytes() == (before / page).read_bytes()
        assert new[page + ".gz"] == old[page + ".gz"]
    assert "Found it." in read(folder, "api/v2/summary.json")
    assert "Found it." in read(folder, "feed.atom")
    # B's component was not touched: its feed is the one published before.
    feed = f"components/{component['id']}/feed.atom"
    assert new[feed] == old[feed]
    assert publisher(worker).rendered < len([p for p in new if not p.endswith(".gz")])


async def test_a_change_to_a_component_renders_the_pages_of_every_incident(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    component = await post(web, admin, "/components", {"name": "Checkout API"})
    affects = [{"component_id": component["id"], "status": "partial_outage"}]
    b = await post(
        web, admin, "/incidents", {"title": "Card errors", "body": "y", "components": affects}
    )
    page = f"en/incidents/{b['id']}/index.html"
    await published(lambda: "Checkout API" in read(folder, page))

    response = await web.patch(
        f"/api/v1/components/{component['id']}", json={"name": "Payments API"}, headers=admin
    )
    assert response.status == 200, await response.text()

    await published(lambda: "Payments API" in read(folder, page))
    assert "Payments API" in read(folder, f"components/{component['id']}/feed.atom")
    assert "Checkout API" not in read(folder, "en/index.html")


async def test_a_burst_of_updates_to_one_incident_publishes_whole_releases(
    web: Client, admin: Headers, worker: Worker, folder: Path
) -> None:
    a = await post(web, admin, "/incidents", {"title": "Slow checkout", "body": "x"})
    await published(lambda: "Slow checkout" in read(folder, "en/index.html"))
    first = release_files((folder / "current").resolve())

    def whole(release: Path) -> None:
        assert set(release_files(release)) == set(first)

    with releases_read(folder, whole) as problems:
        for n in range(20):
            body = {"status": "identified", "body": f"Step {n:02d}."}
            await post(web, admin, f"/incidents/{a['id']}/updates", body)
        await published(lambda: "Step 19." in read(folder, f"ja/incidents/{a['id']}/index.html"))
    assert not problems
    assert "Step 19." in read(folder, "api/v2/summary.json")
