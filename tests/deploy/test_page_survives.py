"""Forewarn down, page up, end to end (issue 15): real ``forewarn web`` and ``forewarn
worker`` processes publishing into a folder (``FOREWARN_SNAPSHOT__TARGET=folder``), the
shipped nginx configuration serving that folder in front of the web process, and a
``redis-server`` of the test's own.

An incident posted through the ops API reaches nginx's ``/`` on its own (the worker
publishes after the change; the delay is printed, never asserted). Then the web process,
the worker and Redis are stopped and the database is taken away (SQLite: the file is
moved; PostgreSQL, which the test cannot stop: nothing of Forewarn's is left to reach
it). Through nginx the page, the incident in English and Japanese, the v2 summary, the
history and the feed still answer 200 with the last state; ``/subscribe`` answers the
published "subscriptions are paused" page (503) in the visitor's language, never a 502;
the ops API answers a problem+json 503.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import PG_URL
from tests.deploy.nginx import MISSING, NGINX, Nginx, free_port
from tests.forewarn.command import Forewarn, environment, wait_until_healthy
from tests.resilience.cluster import RedisServer

pytestmark = pytest.mark.skipif(not NGINX.exists(), reason=MISSING)

JA = {"Accept-Language": "ja,en-US;q=0.9,en;q=0.8"}
TITLE = "Card payments failing"
# A bound on waiting for the worker's publication (a stuck test fails), not a speed.
PUBLISH_WITHIN = 60.0


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str]:
    async with http.get(url, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text()


async def until_shown(http: aiohttp.ClientSession, url: str, text: str, **headers: str) -> float:
    """Poll ``url`` until its body holds ``text``; returns the seconds it took."""
    started = time.perf_counter()
    while True:
        status, body = await get(http, url, **headers)
        if status == 200 and text in body:
            return time.perf_counter() - started
        assert time.perf_counter() - started < PUBLISH_WITHIN, f"{url}: {status}"
        await asyncio.sleep(0.02)


async def stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    async with asyncio.timeout(30):
        await process.wait()


async def test_the_published_page_answers_with_everything_of_forewarn_stopped(
    database_url: str, admin: dict[str, str], tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path / "redis")
    await asyncio.to_thread(redis.start)
    snapshot = tmp_path / "page"
    web_port = free_port()
    nginx = Nginx(tmp_path / "nginx", snapshot, f"127.0.0.1:{web_port}")
    env = environment(
        FOREWARN_DATABASE_URL=database_url,
        FOREWARN_REDIS_URL=redis.url,
        FOREWARN_SECRET_KEY="test-secret-key-not-for-production",
        FOREWARN_PUBLIC_URL=nginx.url,
        FOREWARN_SNAPSHOT__TARGET="folder",
        FOREWARN_SNAPSHOT__DIR=str(snapshot),
    )
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    forewarn = Forewarn(cwd)
    try:
        worker = await forewarn.start("worker", env=env, stderr=tmp_path / "worker.log")
        web = await forewarn.start(
            *("web", "--host", "127.0.0.1", "--port", str(web_port)),
            env=env,
            stderr=tmp_path / "web.log",
        )
        await nginx.start()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            await wait_until_healthy(http, nginx.url)  # /healthz, through nginx
            async with http.post(
                f"{nginx.url}/api/v1/incidents",
                json={"title": TITLE, "body": "Some card payments fail.", "notify": False},
                headers=admin,
            ) as posted:
                assert posted.status == 201, await posted.text()
                incident = (await posted.json())["id"]
            delay = await until_shown(http, f"{nginx.url}/", TITLE)
            print(f"\nthe incident was on nginx's / {delay:.2f} s after the API answered")

            pages = (
                "/",
                f"/incidents/{incident}",
                f"/incidents/{incident}?lang=ja",
                "/api/v2/summary.json",
                "/history",
                "/feed.atom",
            )
            before = {path: await get(http, nginx.url + path) for path in pages}
            assert all(status == 200 and TITLE in body for status, body in before.values())

            await stop(web)
            await stop(worker)
            redis.stop()
            if not PG_URL:
                database = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
                await asyncio.to_thread(database.rename, tmp_path / "gone.db")

            for path, (_, body) in before.items():
                status, now = await get(http, nginx.url + path)
                assert (status, now) == (200, body), path
                assert TITLE in now, path
            _, japanese = await get(http, f"{nginx.url}/incidents/{incident}", **JA)
            assert '<html lang="ja"' in japanese
            assert TITLE in japanese
            summary = json.loads(before["/api/v2/summary.json"][1])
            assert [i["name"] for i in summary["incidents"]] == [TITLE]

            for headers, text in (({}, "Subscriptions are paused"), (JA, "登録の受付を一時停止")):
                async with http.get(f"{nginx.url}/subscribe", headers=headers) as paused:
                    assert paused.status == 503, await paused.text()
                    assert text in await paused.text()
                    assert paused.headers["Retry-After"] == "60"
            async with http.get(f"{nginx.url}/api/v1/incidents", headers=admin) as api:
                assert api.status == 503
                assert api.headers["Content-Type"] == "application/problem+json"
                assert (await api.json(content_type=None))["status"] == 503
    finally:
        await nginx.stop()
        await forewarn.close()
        redis.stop()
    assert "[emerg]" not in nginx.error_log
