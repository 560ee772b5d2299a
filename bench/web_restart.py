"""``forewarn web --processes 2`` whose web processes are killed (SIGKILL) one after
another under light load: how long until a new one exists and serves, and what the
clients saw.

    .venv/bin/python -m bench.web_restart                    # SQLite, embedded Redis, 5 kills
    .venv/bin/python -m bench.web_restart --kills 10 --redis-url redis://127.0.0.1:6379/14

Load: 4 clients, each ``GET /healthz`` on a new connection, one at a time, all along.
Each kill waits until the previous replacement serves. For each kill it prints the
seconds from the kill until the supervisor started a new web process (its pid appears
among the parent's children in /proc) and until that process serves: the time of its
own "web process serving" log line (JSON logs carry the pid), which it writes once its
web server listens on the shared socket, and the requests refused (connection refused:
the port closed) and failed (any other error or a non-200 answer) since the previous
kill. Last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from notifier import migrate
from notifier.db import create_engine
from notifier.delivery.jobs import EmbeddedRedis
from tests.forewarn.command import FOREWARN, environment, free_port, web_processes_started_by
from tests.forewarn.test_web_processes import CLIENTS, Load

SERVING = "web process serving"
BOUND = 60.0  # seconds: a replacement slower than this is reported as a failure


def served_at(stderr: Path, pid: int) -> float | None:
    """The wall-clock time ``pid`` logged that it serves, if it did."""
    for line in stderr.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == SERVING and record.get("process") == pid:
            return datetime.fromisoformat(record["time"]).timestamp()
    return None


async def kill_once(parent: int, stderr: Path, load: Load) -> dict[str, Any]:
    before = web_processes_started_by(parent)
    refused, failed = load.refused, load.failed
    victim = before[0]
    killed_at = time.time()
    os.kill(victim, signal.SIGKILL)
    async with asyncio.timeout(BOUND):
        while not (new := [p for p in web_processes_started_by(parent) if p not in before]):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        existed = time.time() - killed_at
        while (serving := served_at(stderr, new[0])) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # requests that started before it served, counted here
    return {
        "victim": victim,
        "newcomer": new[0],
        "new_pid_s": round(existed, 3),
        "serving_s": round(serving - killed_at, 3),
        "refused": load.refused - refused,
        "failed": load.failed - failed,
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        database_url = f"sqlite+aiosqlite:///{work / 'forewarn.db'}"
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        await engine.dispose()
        embedded = None if args.redis_url else EmbeddedRedis(str(work / "redis"))
        redis_url = args.redis_url or (embedded.url if embedded else "")
        env = environment(
            FOREWARN_DATABASE_URL=database_url,
            FOREWARN_REDIS_URL=redis_url,
            FOREWARN_SECRET_KEY=secrets.token_urlsafe(32),
            FOREWARN_LOG_FORMAT="json",
        )
        port = free_port()
        stderr = work / "web.stderr"
        with stderr.open("wb") as errors:
            process = await asyncio.create_subprocess_exec(
                *FOREWARN,
                *("web", "--port", str(port), "--processes", "2"),
                cwd=work,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=errors,
            )
        runs: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(BOUND):
                while stderr.read_text().count(SERVING) < 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            load = Load(port)
            stop = asyncio.Event()
            clients = asyncio.create_task(load.run(stop))
            await asyncio.sleep(1)
            for n in range(args.kills):
                run = await kill_once(process.pid, stderr, load)
                runs.append(run)
                print(
                    f"kill {n + 1}: pid {run['victim']} -> {run['newcomer']}: new pid after "
                    f"{run['new_pid_s']:.3f} s, serving after {run['serving_s']:.3f} s; "
                    f"{run['refused']} refused, {run['failed']} failed",
                    flush=True,
                )
            stop.set()
            await clients
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
            if embedded is not None:
                embedded.close(force=True)
    print(
        f"{args.kills} kills, {CLIENTS} clients: {load.answered} requests answered, "
        f"{load.refused} refused, {load.failed} failed; serving again after "
        f"{min(r['serving_s'] for r in runs):.2f}-{max(r['serving_s'] for r in runs):.2f} s"
    )
    print(json.dumps({"bench": "web_restart", "answered": load.answered, "runs": runs}))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--redis-url", default="", help="default: an embedded Redis")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
