"""When the page is published: only for the newest change, once, one publication at a
time, and again by the refresh when one was missed. A real Redis and a real folder; the
renderer is a stand-in that counts (the real one is ``tests/status_page/test_publishing.py``'s)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from notifier.page import generation
from notifier.page.folder_target import FolderTarget
from notifier.page.publishing import MAX_WAIT, PUBLISHED, REFRESH_MINUTES, Publisher
from notifier.page.snapshot import File, Rendering, SnapshotError


class Counting:
    """Renders one page saying how many times it rendered, slowly enough to overlap."""

    def __init__(self) -> None:
        self.renders = 0
        # What each rendering was asked to render: the touched ids, or None for every file.
        self.asked: list[frozenset[str] | None] = []
        self.fail = False  # the next rendering fails

    async def start(self) -> None:
        pass

    async def render(
        self, touched: frozenset[str] | None = None, previous: Rendering | None = None
    ) -> Rendering:
        self.renders += 1
        self.asked.append(touched if previous is not None else None)
        await asyncio.sleep(0.05)
        if self.fail:
            self.fail = False
            raise SnapshotError("the page did not render")
        body = f"render {self.renders}".encode()
        return Rendering([File("en/index.html", body, "text/html", "en")], rendered=1)

    async def close(self) -> None:
        pass


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def renderer() -> Counting:
    return Counting()


@pytest.fixture
def publisher(redis: Redis, renderer: Counting, tmp_path: Path) -> Publisher:
    return Publisher(redis, renderer, FolderTarget(tmp_path), ZoneInfo("Asia/Tokyo"))


async def bumped(redis: Redis) -> str:
    await generation.bump(redis)
    return (await generation.current(redis)).decode()


async def test_the_job_of_a_superseded_change_does_nothing(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    old = await bumped(redis)
    new = await bumped(redis)

    assert await publisher.publish(old) is False
    assert await publisher.publish(new) is True
    assert await publisher.publish(new) is False  # already published
    assert renderer.renders == 1


async def test_jobs_running_at_once_publish_once(
    redis: Redis, publisher: Publisher, renderer: Counting, tmp_path: Path
) -> None:
    token = await bumped(redis)

    results = await asyncio.gather(*(publisher.publish(token) for _ in range(5)))

    assert sorted(results) == [False] * 4 + [True]
    assert renderer.renders == 1
    manifest = json.loads((tmp_path / "current" / "manifest.json").read_text())
    assert manifest["generation"] == token


async def test_the_refresh_publishes_what_a_lost_job_did_not(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    assert await publisher.refresh() is True  # nothing published yet
    assert await publisher.refresh() is False  # current, today, recent
    await bumped(redis)  # its job lost with Redis, say

    assert await publisher.refresh() is True
    assert await publisher.refresh(force=True) is True
    assert renderer.renders == 3


async def test_under_a_steady_stream_a_change_waits_at_most_max_wait(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    old = await bumped(redis)
    await bumped(redis)
    # The first change not yet published came longer ago than MAX_WAIT.
    await redis.set(generation.PENDING, time.time() - MAX_WAIT - 1)

    assert await publisher.publish(old) is True
    assert await redis.get(generation.PENDING) is None
    assert renderer.renders == 1


async def changed(redis: Redis, touched: str | None = None) -> str:
    """A change as the ops API makes one with a target set (its job left to the test)."""
    await generation.bump(redis, publish=True, touched=touched)
    return (await generation.current(redis)).decode()


async def test_a_change_about_one_incident_renders_what_shows_it(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    await publisher.refresh(force=True)
    await changed(redis, "incident1")
    token = await changed(redis, "incident2")

    assert await publisher.publish(token) is True
    assert renderer.asked == [None, frozenset({"incident1", "incident2"})]


async def test_a_change_that_may_show_anywhere_renders_every_file(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    await publisher.refresh(force=True)
    await changed(redis, "incident1")
    token = await changed(redis)  # a component, say

    assert await publisher.publish(token) is True
    assert renderer.asked == [None, None]


async def test_the_first_publication_and_one_after_another_process_render_every_file(
    redis: Redis, publisher: Publisher, renderer: Counting, tmp_path: Path
) -> None:
    assert await publisher.publish(await changed(redis, "incident1")) is True
    other = Publisher(redis, Counting(), FolderTarget(tmp_path), ZoneInfo("Asia/Tokyo"))
    assert await other.publish(await changed(redis, "incident1")) is True

    assert await publisher.publish(await changed(redis, "incident1")) is True
    assert renderer.asked == [None, None]  # what it rendered last is not what is published


async def test_after_a_failed_publication_the_next_renders_every_file(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    await publisher.refresh(force=True)
    renderer.fail = True

    with pytest.raises(SnapshotError, match="did not render"):
        await publisher.publish(await changed(redis, "incident1"))
    assert await publisher.publish(await changed(redis, "incident2")) is True
    assert renderer.asked == [None, frozenset({"incident1"}), None]


async def test_the_refresh_renders_every_file_when_only_parts_were_rendered_lately(
    redis: Redis, publisher: Publisher, renderer: Counting
) -> None:
    await publisher.refresh(force=True)
    assert await publisher.publish(await changed(redis, "incident1")) is True
    assert await publisher.refresh() is False
    # The last publication of every file was longer ago than REFRESH_MINUTES.
    long_ago = str(time.time() - REFRESH_MINUTES * 60 - 1)
    await redis.hset(PUBLISHED, "full_at", long_ago)  # type: ignore[misc]

    assert await publisher.refresh() is True
    assert renderer.asked == [None, frozenset({"incident1"}), None]
