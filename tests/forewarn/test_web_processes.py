"""``forewarn web --processes 2`` survives its own processes: a web process killed
(SIGKILL, as the OOM killer would) or stopped (SIGTERM) is replaced while the port keeps
answering; one that cannot start makes the parent give up with one line; the parent
killed takes its web processes with it, so none keeps the port.

Light load meanwhile: a few clients, each one request at a time on a new connection.
Each run prints what it saw (the seconds to a replacement, the requests that failed);
only correctness is asserted: no connection refused, at most the requests in flight on
the process that died failed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.forewarn.command import (
    COMMAND_TIMEOUT,
    START_TIMEOUT,
    Forewarn,
    free_port,
    wait_until_healthy,
    web_processes_started_by,
)
from tests.forewarn.test_shutdown import refusing, serving

CLIENTS = 4


@dataclass
class Load:
    """``CLIENTS`` loops of ``GET /healthz``, each on a new connection, until stopped."""

    port: int
    answered: int = 0
    refused: int = 0
    failed: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._client(stop) for _ in range(CLIENTS)))

    async def _client(self, stop: asyncio.Event) -> None:
        connector = aiohttp.TCPConnector(force_close=True)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not stop.is_set():
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        await answer.read()
                        if answer.status == 200:
                            self.answered += 1
                        else:
                            self.failed += 1
                except aiohttp.ClientConnectorError as exc:
                    if isinstance(exc.os_error, ConnectionRefusedError):
                        self.refused += 1
                    else:
                        self.failed += 1
                except (aiohttp.ClientError, TimeoutError):
                    self.failed += 1
                await asyncio.sleep(0.01)


async def two_serving(forewarn: Forewarn, env: dict[str, str], stderr: Path) -> tuple[int, int]:
    """``forewarn web --processes 2`` on a free port, once both processes serve:
    (parent's pid, port)."""
    port = free_port()
    process = await forewarn.start(
        "web", "--port", str(port), "--processes", "2", env=env, stderr=stderr
    )
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, f"http://127.0.0.1:{port}")
    await serving(stderr, 2)
    return process.pid, port


async def replaced(parent: int, before: list[int], stderr: Path) -> tuple[int, float, float]:
    """Until a new web process took the place of one of ``before`` and serves: (its pid,
    seconds until it existed, seconds until it served). Bounded, never asserted as speed."""
    start = time.monotonic()
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            new = [pid for pid in web_processes_started_by(parent) if pid not in before]
            if new:
                existed = time.monotonic() - start
                break
            await asyncio.sleep(0.02)
        await serving(stderr, 3)
    return new[0], existed, time.monotonic() - start


async def under_load(
    port: int, action: asyncio.Future[tuple[int, float, float]]
) -> tuple[Load, tuple[int, float, float]]:
    """Run ``Load`` from before ``action`` starts until some time after it ended."""
    load = Load(port)
    stop = asyncio.Event()
    clients = asyncio.create_task(load.run(stop))
    async with asyncio.timeout(START_TIMEOUT):
        while load.answered < 50:  # noqa: ASYNC110  (the clients count)
            await asyncio.sleep(0.01)
        result = await action
        after = load.answered
        while load.answered < after + 200:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    stop.set()
    await clients
    return load, result


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_a_web_process_that_ends_is_replaced_and_the_port_keeps_answering(
    how: signal.Signals,
    forewarn: Forewarn,
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stderr = tmp_path / "web.stderr"
    parent, port = await two_serving(forewarn, env, stderr)
    before = web_processes_started_by(parent)
    victim = before[0]

    async def end_one() -> tuple[int, float, float]:
        os.kill(victim, how)
        return await replaced(parent, before, stderr)

    load, (newcomer, existed, served) = await under_load(port, asyncio.ensure_future(end_one()))
    with capsys.disabled():
        print(
            f"\n{how.name} to one of 2 web processes: replaced in {existed:.2f} s, serving "
            f"again in {served:.2f} s; {load.answered} requests answered, "
            f"{load.refused} refused, {load.failed} failed ({CLIENTS} clients)"
        )
    assert load.refused == 0
    # At most the requests in flight on the process that died: one per client.
    assert load.failed <= CLIENTS
    assert newcomer not in before
    errors = stderr.read_text()
    ended = "killed by SIGKILL" if how == signal.SIGKILL else "exit code 0"
    assert f"web process {victim} ended ({ended})" in errors
    assert "Traceback" not in errors

    os.kill(parent, signal.SIGTERM)
    await refusing(port)


async def test_web_processes_that_cannot_start_make_the_parent_give_up(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    # Each web process fails as it starts, as with a broken install (the parent, whose
    # command line lacks --socket-fd, is spared).
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text(
        "import sys\n"
        "if '--socket-fd' in sys.argv:\n"
        "    raise SystemExit('this web process cannot start')\n"
    )
    stderr = tmp_path / "web.stderr"
    process = await forewarn.start(
        *["web", "--port", str(free_port()), "--processes", "2"],
        env=env | {"PYTHONPATH": str(broken)},
        stderr=stderr,
    )
    async with asyncio.timeout(START_TIMEOUT):
        code = await process.wait()
    errors = stderr.read_text()
    assert code == 1
    last = errors.rstrip("\n").rsplit("\n", 1)[-1]
    assert last == (
        "forewarn: web processes keep failing at start (5 in a row, the last exit code 1); "
        "see their errors above"
    )
    assert "failed at start (exit code 1); starting another in" in errors
    assert web_processes_started_by(process.pid) == []


async def test_the_parent_killed_takes_its_web_processes_with_it(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    parent, port = await two_serving(forewarn, env, tmp_path / "web.stderr")
    children = web_processes_started_by(parent)
    os.kill(parent, signal.SIGKILL)
    await refusing(port)
    async with asyncio.timeout(COMMAND_TIMEOUT):
        while [pid for pid in children if _alive(pid)]:  # noqa: ASYNC110  (polls /proc)
            await asyncio.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_a_replacement_that_cannot_start_leaves_the_survivor_serving(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    # As through a Redis outage: the processes that are up serve, a new one cannot start.
    broken = tmp_path / "broken"
    broken.mkdir()
    failing = tmp_path / "failing"
    (broken / "sitecustomize.py").write_text(
        "import os, sys\n"
        f"if '--socket-fd' in sys.argv and os.path.exists({str(failing)!r}):\n"
        "    raise SystemExit('this web process cannot start')\n"
    )
    stderr = tmp_path / "web.stderr"
    parent, port = await two_serving(forewarn, env | {"PYTHONPATH": str(broken)}, stderr)
    before = web_processes_started_by(parent)
    failing.touch()
    os.kill(before[0], signal.SIGKILL)
    load = Load(port)
    stop = asyncio.Event()
    clients = asyncio.create_task(load.run(stop))
    async with asyncio.timeout(START_TIMEOUT):
        # Past START_FAILURES failed starts in a row, the parent keeps trying.
        while stderr.read_text().count("failed at start") < 6:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    assert before[1] in web_processes_started_by(parent)
    failing.unlink()
    newcomer, _existed, _served = await replaced(parent, before, stderr)
    stop.set()
    await clients
    assert newcomer not in before
    assert (load.refused, load.failed) == (0, 0)
    assert "keep failing" not in stderr.read_text()
    os.kill(parent, signal.SIGTERM)
    await refusing(port)
