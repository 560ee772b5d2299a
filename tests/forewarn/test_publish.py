"""The static page from the real ``forewarn`` command: ``run`` publishes it on its own (its
embedded worker), and ``publish`` publishes it once, now."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

from tests.forewarn.command import (
    COMMAND_TIMEOUT,
    START_TIMEOUT,
    Forewarn,
    free_port,
    read_banner,
)


def page(folder: Path, path: str) -> str:
    try:
        return (folder / "current" / path).read_text()
    except FileNotFoundError:
        return ""


async def test_run_publishes_the_demo_and_publish_publishes_it_again(
    forewarn: Forewarn, tmp_path: Path, env: dict[str, str]
) -> None:
    folder = tmp_path / "page"
    env = env | {"FOREWARN_SNAPSHOT__TARGET": "folder", "FOREWARN_SNAPSHOT__DIR": str(folder)}
    stderr = tmp_path / "run.stderr"
    process = await forewarn.start(
        "run", "--demo", "--port", str(free_port()), env=env, stderr=stderr
    )
    await read_banner(process, stderr)

    started = time.perf_counter()
    while "Checkout API" not in page(folder, "en/index.html"):
        assert time.perf_counter() - started < START_TIMEOUT, stderr.read_text()
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(COMMAND_TIMEOUT):
        assert await process.wait() == 0, stderr.read_text()
    first = (folder / "current").resolve()

    result = await forewarn.run("publish", env=env)

    assert result.returncode == 0, result.stderr
    assert result.last_line == "published the page to the folder target"
    assert (folder / "current").resolve() != first
    assert '<html lang="ja">' in page(folder, "ja/index.html")
    assert "Payments failing for some card types" in page(folder, "feed.atom")
    took = re.search(
        r"published the page \(release \S+, (\d+) files, \d+ rendered\) in ([\d.]+) s",
        result.stderr,
    )
    assert took is not None, result.stderr
    print(f"\ndemo data: {took[1]} files published in {took[2]} s")


async def test_publish_with_the_target_off_says_so(forewarn: Forewarn, env: dict[str, str]) -> None:
    result = await forewarn.run("publish", env=env)

    assert result.returncode == 2
    assert "FOREWARN_SNAPSHOT__TARGET is off" in result.stderr
