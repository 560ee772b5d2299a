"""Status page under a rush: `/` and `/api/v2/summary.json` under wrk, alone and while
10,000-subscriber fan-outs run, against nginx serving the same bytes from files.

    .venv/bin/python -m bench.page                  # 2 web processes, nginx with 2 workers
    .venv/bin/python -m bench.page --processes 1

Needs wrk and nginx (Debian: apt-get install -y nginx-light wrk); everything binds
to 127.0.0.1. Forewarn runs as `forewarn web --processes N` and `forewarn worker`,
on PostgreSQL (database forewarn_bench, recreated) and Redis (db 14), with the
SendGrid and Twilio fakes from tests/fakes in this process. Prints a table; the
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import (
    DATABASE_URL,
    REDIS_URL,
    ROOT,
    environment,
    fakes,
    flush_redis,
    reset_database,
    seed,
    start_forewarn,
    stop,
)
from tests.fakes import FakeSendGrid, FakeTwilio

PATHS = {"page": "/", "summary": "/api/v2/summary.json"}
SECRET_KEY = secrets.token_urlsafe(32)  # signs nothing that outlives the run
WARM_UP = 2  # seconds of wrk before each measured run, for Forewarn and nginx alike
INSTALL = "wrk and nginx are needed: sudo apt-get install -y nginx-light wrk"


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> Load:
    """Requests/sec, the 50% and 99% lines of ``--latency``, and every kind of error."""

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if found is None:
            raise ValueError(f"no {percent}% line in wrk's output:\n{output}")
        return float(found[1]) * _UNITS[found[2]]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rate is None:
        raise ValueError(f"no Requests/sec in wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors += int(non_2xx[1]) if non_2xx else 0
    return Load(float(rate[1]), latency("50"), latency("99"), errors)


async def wrk(url: str, args: argparse.Namespace, duration: int = 0) -> Load:
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration or args.duration}s",
        "--latency",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return parse_wrk(output.decode())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def until_serving(http: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


class Ops:
    """The ops API of the Forewarn under test."""

    def __init__(self, http: aiohttp.ClientSession, base: str, secret: str) -> None:
        self._http = http
        self._base = base
        self._headers = {"Authorization": f"Bearer {secret}"}

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._http.post(
            f"{self._base}/api/v1{path}", json=body, headers=self._headers
        ) as response:
            assert response.status in (200, 201), await response.text()
            result: dict[str, Any] = await response.json()
            return result


async def build_page(ops: Ops, component_id: str) -> str:
    """A page with something on it (nobody notified); returns the incident to update."""
    ids = [component_id]
    for name in ("Website", "Mobile app", "Search", "Email delivery", "SMS delivery", "Webhooks"):
        ids.append((await ops.post("/components", {"name": name}))["id"])
    await ops.post("/component-groups", {"name": "Shop", "components": ids[:3]})
    await ops.post("/component-groups", {"name": "Notifications", "components": ids[3:]})
    old = await ops.post(
        "/incidents", {"title": "Slow search", "body": "Searches are slow.", "notify": False}
    )
    await ops.post(f"/incidents/{old['id']}/resolve", {"body": "Fixed.", "notify": False})
    await ops.post(
        "/maintenance",
        {
            "title": "Database upgrade",
            "body": "Checkout may be read-only for a few minutes.",
            "scheduled_for": "2099-01-01T01:00:00Z",
            "scheduled_until": "2099-01-01T02:00:00Z",
            "components": [ids[0]],
            "notify": False,
        },
    )
    incident = await ops.post(
        "/incidents",
        {
            "title": "Checkout errors",
            "body": "Some card payments fail. We are on it.",
            "impact": "major",
            "components": [{"component_id": component_id, "status": "partial_outage"}],
            "notify": False,
        },
    )
    ident: str = incident["id"]
    return ident


@dataclass
class FanOuts:
    """Incident updates to the whole audience, back to back, until told to stop."""

    ops: Ops
    incident_id: str
    sendgrid: FakeSendGrid
    twilio: FakeTwilio
    emails: int
    sms: int
    done: int = 0
    seconds: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        statuses = ("identified", "monitoring")
        while not stop.is_set():
            email_goal = len(self.sendgrid.delivered) + self.emails
            sms_goal = len(self.twilio.delivered) + self.sms
            started = time.perf_counter()
            await self.ops.post(
                f"/incidents/{self.incident_id}/updates",
                {"status": statuses[self.done % 2], "body": f"Update {self.done + 1}."},
            )
            async with asyncio.timeout(600):
                while (  # noqa: ASYNC110  (the fakes have no event to wait on)
                    len(self.sendgrid.delivered) < email_goal
                    or len(self.twilio.delivered) < sms_goal
                ):
                    await asyncio.sleep(0.1)
            self.done += 1
            self.seconds += time.perf_counter() - started


async def under_fan_out(url: str, args: argparse.Namespace, fan_outs: FanOuts) -> Load:
    """wrk while fan-outs run for the whole of its window; the last one is let finish."""
    stop_event = asyncio.Event()
    running = asyncio.create_task(fan_outs.run(stop_event))
    await asyncio.sleep(0.2)  # the first update is posted and its fan-out under way
    load = await wrk(url, args)
    stop_event.set()
    await running
    return load


NGINX_CONF = """\
daemon off;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = / {{ default_type "text/html; charset=utf-8"; try_files /index.html =404; }}
        location = /api/v2/summary.json {{
            default_type application/json; try_files /summary.json =404;
        }}
    }}
}}
"""


def nginx_command() -> str:
    """nginx is in /usr/sbin, which a user's PATH may lack."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    return found or ""


async def nginx_serving(
    folder: Path, bodies: dict[str, bytes], workers: int, base: str
) -> subprocess.Popen[bytes]:
    port = base.rsplit(":", 1)[1]
    www = folder / "www"
    www.mkdir()
    (www / "index.html").write_bytes(bodies["page"])
    (www / "summary.json").write_bytes(bodies["summary"])
    for path in (folder, www, www / "index.html", www / "summary.json"):
        path.chmod(0o755)  # nginx's workers may run as another user
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=folder, port=port))
    return subprocess.Popen(  # noqa: S603, ASYNC220  (started once, before timing)
        [nginx_command(), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def bare_serving(folder: Path, workers: int, base: str) -> subprocess.Popen[bytes]:
    """bench/bare.py: the same bytes from an aiohttp app that does nothing else."""
    port = base.rsplit(":", 1)[1]
    return subprocess.Popen(  # noqa: S603  (started once, before timing)
        [sys.executable, "-m", "bench.bare", str(folder / "www"), port, str(workers)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def shows(base: str, latest: str) -> bool:
    """Whether `/` and summary.json (on a new connection each) show the latest update."""
    seen = []
    for path in PATHS.values():
        async with aiohttp.ClientSession() as fresh, fresh.get(base + path) as response:
            seen.append(latest in await response.text())
    if not all(seen):
        missing = [path for path, ok in zip(PATHS.values(), seen, strict=True) if not ok]
        print(f"STALE: {latest!r} missing from {missing}")
    return all(seen)


def row(name: str, load: Load) -> str:
    return f"{name:<34} {load.rps:>10,.0f} {load.p50_ms:>9.2f} {load.p99_ms:>9.2f} {load.errors:>7}"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=2, help="web processes = nginx workers")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--audience", type=int, default=10_000)
    parser.add_argument("--sms-every", type=int, default=10, help="every Nth has a phone")
    parser.add_argument("--sms-per-second", type=float, default=2000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    if not shutil.which("wrk") or not nginx_command():
        print(INSTALL, file=sys.stderr)
        return 2

    load_average = os.getloadavg()[0]  # what else runs shows in the spread
    await reset_database(args.database_url)
    await flush_redis(args.redis_url)
    secret, component_id, phones = await seed(
        args.database_url, args.audience, args.sms_every, False
    )
    print(f"seeded {args.audience} subscribers ({phones} with a phone)")

    sendgrid, twilio = fakes()
    await sendgrid.start()
    await twilio.start()
    env = environment(
        args.database_url, args.redis_url, sendgrid, twilio, args.sms_per_second, SECRET_KEY
    )
    # Updates back to back: the email no-spam window (issue 12's care) would hold every
    # one after the first, and a rush is measured with messages going out.
    env["FOREWARN_DELIVERY__EMAIL_WINDOW_MINUTES"] = "0"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = start_forewarn(["worker"], env)
    web = start_forewarn(
        ["web", "--host", "127.0.0.1", "--port", str(port), "--processes", str(args.processes)],
        env,
    )
    results: dict[str, Load] = {}
    folder = Path(tempfile.mkdtemp(prefix="forewarn-bench-nginx-"))
    nginx: subprocess.Popen[bytes] | None = None
    bare: subprocess.Popen[bytes] | None = None
    try:
        async with aiohttp.ClientSession() as http:
            await until_serving(http, base + "/healthz")
            await asyncio.sleep(2)  # the other web processes and the worker finish starting
            ops = Ops(http, base, secret)
            incident_id = await build_page(ops, component_id)
            bodies = {}
            for name, path in PATHS.items():
                await wrk(base + path, args, duration=WARM_UP)  # every process, every template
                async with http.get(base + path) as response:
                    bodies[name] = await response.read()
            # nginx and the bare app serve the bytes Forewarn serves now; the three runs
            # of a path are back to back, so whatever else the machine does weighs alike.
            nginx_base = f"http://127.0.0.1:{free_port()}"
            nginx = await nginx_serving(folder, bodies, args.processes, nginx_base)
            bare_base = f"http://127.0.0.1:{free_port()}"
            bare = bare_serving(folder, args.processes, bare_base)
            await until_serving(http, nginx_base + "/")
            await until_serving(http, bare_base + "/")
            for name, path in PATHS.items():
                for other in (nginx_base, bare_base):
                    async with http.get(other + path) as response:
                        assert await response.read() == bodies[name], f"{other} serves other bytes"
                    await wrk(other + path, args, duration=WARM_UP)
                results[name] = await wrk(base + path, args)
                results[f"{name}_bare"] = await wrk(bare_base + path, args)
                results[f"{name}_nginx"] = await wrk(nginx_base + path, args)
            # An update (incident_updated) is not among the default ``sms_events``: its
            # fan-out is email alone, and waiting for texts would wait for ever.
            fan_outs = FanOuts(ops, incident_id, sendgrid, twilio, args.audience, 0)
            for name, path in PATHS.items():
                results[f"{name}_fanout"] = await under_fan_out(base + path, args, fan_outs)
            fresh = await shows(base, f"Update {fan_outs.done}.")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=30)
        if bare is not None:
            stop(bare)
        shutil.rmtree(folder, ignore_errors=True)
        stop(web)
        stop(worker)
        await sendgrid.stop()
        await twilio.stop()

    mean_fan_out = fan_outs.seconds / fan_outs.done if fan_outs.done else 0.0
    load_before, load_after = load_average, os.getloadavg()[0]
    print(
        f"\n{os.cpu_count()} cores, load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print(
        f"{args.processes} web process(es) / nginx worker(s); wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s; `/` is {len(bodies['page']):,} bytes, "
        f"summary.json {len(bodies['summary']):,}"
    )
    print(f"{'':<34} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for name, path in PATHS.items():
        print(row(f"{path} Forewarn", results[name]))
        print(row(f"{path} Forewarn during fan-out", results[f"{name}_fanout"]))
        print(row(f"{path} bare aiohttp, same bytes", results[f"{name}_bare"]))
        print(row(f"{path} nginx, same bytes", results[f"{name}_nginx"]))
        nginx_rps = results[f"{name}_nginx"].rps
        print(
            f"{'':<34} Forewarn at {results[name].rps / nginx_rps:.0%} of nginx, "
            f"bare aiohttp at {results[f'{name}_bare'].rps / nginx_rps:.0%}"
        )
    print(
        f"fan-outs of {args.audience:,} ({phones:,} SMS) during the two loaded runs: "
        f"{fan_outs.done}, {mean_fan_out:.1f} s each on average"
    )
    figures: dict[str, Any] = {"processes": args.processes, "connections": args.connections}
    for name in PATHS:
        prefix = "" if name == "page" else f"{name}_"
        alone, during, nginx_load, bare_load = (
            results[name],
            results[f"{name}_fanout"],
            results[f"{name}_nginx"],
            results[f"{name}_bare"],
        )
        figures |= {
            f"{prefix}rps": round(alone.rps),
            f"{prefix}p50_ms": round(alone.p50_ms, 2),
            f"{prefix}p99_ms": round(alone.p99_ms, 2),
            f"{prefix}nginx_rps": round(nginx_load.rps),
            f"{prefix}nginx_p99_ms": round(nginx_load.p99_ms, 2),
            f"{prefix}share_of_nginx": round(alone.rps / nginx_load.rps, 3),
            f"{prefix}bare_aiohttp_rps": round(bare_load.rps),
            f"{prefix}bare_aiohttp_share_of_nginx": round(bare_load.rps / nginx_load.rps, 3),
            f"{prefix}rps_during_fanout": round(during.rps),
            f"{prefix}p50_ms_during_fanout": round(during.p50_ms, 2),
            f"{prefix}p99_ms_during_fanout": round(during.p99_ms, 2),
            f"{prefix}errors": alone.errors + during.errors,
        }
    figures |= {
        "fanouts": fan_outs.done,
        "fanout_mean_s": round(mean_fan_out, 2),
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "fresh": fresh,
    }
    print(json.dumps(figures))
    return 0 if fresh else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
