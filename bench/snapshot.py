"""The static page: how long one publication of the demo data takes (render every public
URL through the application, gzip, write a release, switch ``current``), cold and warm.

    .venv/bin/python -m bench.snapshot                # SQLite file, embedded Redis
    .venv/bin/python -m bench.snapshot --runs 10 --database-url postgresql+asyncpg://...

Everything stays in a temporary folder. Prints one line per run, then one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from forewarn import demo
from notifier import migrate
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery.jobs import EmbeddedRedis
from notifier.page import generation
from notifier.page.folder_target import FolderTarget
from notifier.page.publishing import Publisher
from status_page.snapshot import AppRenderer
from tests.conftest import make_settings


async def main(runs: int, database_url: str | None, redis_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database_url = database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        embedded = None if redis_url else EmbeddedRedis(f"{folder}/redis")
        redis_url = redis_url or (embedded.url if embedded else "")
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        async with sessionmaker(engine)() as session, session.begin():
            await demo.seed(session, now=utcnow())
        await engine.dispose()
        settings = make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo")
        redis = Redis.from_url(redis_url)
        renderer = AppRenderer(settings)
        target = FolderTarget(Path(folder, "page"))
        publisher = Publisher(redis, renderer, target, ZoneInfo("Asia/Tokyo"))
        timings: list[float] = []
        try:
            started = time.perf_counter()
            await renderer.start()
            start = time.perf_counter() - started
            for run in range(runs):
                await generation.bump(redis)  # as a change does: no cached page is reused
                started = time.perf_counter()
                await publisher.refresh(force=True)
                timings.append(time.perf_counter() - started)
                print(f"publication {run + 1}: {timings[-1]:.3f} s")
        finally:
            await renderer.close()
            await redis.aclose()
            if embedded is not None:
                embedded.close(force=True)
        current = target.current()
        assert current is not None
        files = len(json.loads((current / "manifest.json").read_text())["files"])
    print(
        json.dumps(
            {
                "files": files,
                "renderer_start_s": round(start, 3),
                "first_s": round(timings[0], 3),
                "median_s": round(statistics.median(timings[1:] or timings), 3),
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.database_url, args.redis_url))
