"""In-app live push: N open streams over 2 web processes, one in-app fan-out to them.

    .venv/bin/python -m bench.inapp                    # 1,000 streams
    .venv/bin/python -m bench.inapp --streams 2000 --restart

Starts its own ``redis-server`` on a free port and two ``forewarn web`` processes on
their own ports, recreates the PostgreSQL database ``forewarn_bench_inapp``
(``--database-url``), and makes N customers, each with an in-app user id and a
delivery of one notification. It opens one stream per user (``/inbox/stream``, half
on each process), then sends the N messages as the worker does (``InAppChannel``, in
batches of 1,000). With ``--restart`` Redis is stopped and started again on the
same port just before the send, so the web processes may not have subscribed again
yet. Prints the delay from the start of the send to each stream's message (p50, p99,
max), the web processes' memory per open stream (what the second half of the streams adds
to their RSS), the
streams that never got their message (lost) and the extra copies (duplicated), and
the ``resync`` events seen; last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import socket
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bench._common import reset_database, start_forewarn, stop
from notifier import migrate, signing
from notifier.audience_rule import AudienceRule
from notifier.db import create_engine, sessionmaker
from notifier.delivery.channels.base import Content, Recipient, token
from notifier.delivery.channels.inapp import InAppChannel
from notifier.tables import Customer, Delivery, Notification

DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/forewarn_bench_inapp"
BATCH = 1000
WAIT = 60.0  # for every message to arrive; what has not by then is lost


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def redis_server(port: int, folder: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        "redis-server",
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)),
        stdout=asyncio.subprocess.DEVNULL,
    )
    probe = Redis(host="127.0.0.1", port=port)
    try:
        while True:
            try:
                await probe.ping()
                return process
            except RedisConnectionError:
                await asyncio.sleep(0.02)
    finally:
        await probe.aclose()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def seed(url: str, streams: int) -> list[tuple[int, str]]:
    """Migrate; N customers with an in-app user id, one delivery each: (delivery id, user)."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        notification = Notification(
            kind="incident_update",
            event="incident_updated",
            subject_id="inc-bench",
            update_id="upd-bench",
            audience=AudienceRule(),
        )
        customers = [
            Customer(external_id=f"bench-{n}", inapp_user_id=f"user-{n}") for n in range(streams)
        ]
        session.add(notification)
        session.add_all(customers)
        await session.flush()
        deliveries = [
            Delivery(notification_id=notification.id, customer_id=c.id, channel="inapp")
            for c in customers
        ]
        session.add_all(deliveries)
        await session.flush()
        pairs = [(d.id, f"user-{n}") for n, d in enumerate(deliveries)]
    await engine.dispose()
    return pairs


class Streams:
    """What every stream received: its message's arrival times, its resyncs."""

    def __init__(self) -> None:
        self.opened = 0
        self.arrivals: dict[str, list[float]] = {}
        self.resyncs = 0
        self.all_opened = asyncio.Event()
        self.arrived = 0
        self.all_arrived = asyncio.Event()
        self.total = 0

    async def read(self, http: aiohttp.ClientSession, base: str, user: str, secret: str) -> None:
        params = {"user": user, "hash": signing.inapp_hash(secret, user)}
        self.arrivals[user] = []
        async with http.get(f"{base}/inbox/stream", params=params) as response:
            assert response.status == 200, response.status
            kind = ""
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line == ": connected":
                    self.opened += 1
                    if self.opened == self.total:
                        self.all_opened.set()
                elif line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line == "" and kind:
                    if kind == "message":
                        self.arrivals[user].append(time.perf_counter())
                        if len(self.arrivals[user]) == 1:
                            self.arrived += 1
                            if self.arrived == len(self.arrivals):
                                self.all_arrived.set()
                    elif kind == "resync":
                        self.resyncs += 1
                    kind = ""


async def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    await reset_database(args.database_url)
    pairs = await seed(args.database_url, args.streams)
    port = free_port()
    server = await redis_server(port, folder)
    redis_url = f"redis://127.0.0.1:{port}/0"
    secret_key = secrets.token_urlsafe(32)
    ports = [free_port(), free_port()]
    env = {
        "FOREWARN_DATABASE_URL": args.database_url,
        "FOREWARN_REDIS_URL": redis_url,
        "FOREWARN_SECRET_KEY": secret_key,
        "FOREWARN_PUBLIC_URL": "http://status.test",
        "PATH": "/usr/bin:/bin",
    }
    webs = [start_forewarn(["web", "--host", "127.0.0.1", "--port", str(p)], env) for p in ports]
    streams = Streams()
    tasks: list[asyncio.Task[None]] = []
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
    try:
        for p in ports:  # until both answer
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{p}/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        # Memory per stream: what the second half of the streams adds (the first half
        # also grows the database pool and warms the processes up).
        half = len(pairs) // 2
        for part in (pairs[:half], pairs[half:]):
            streams.opened, streams.total = 0, len(part)
            streams.all_opened.clear()
            before = [rss_kb(w.pid) for w in webs]
            for n, (_delivery, user) in enumerate(part):
                base = f"http://127.0.0.1:{ports[n % 2]}"
                tasks.append(asyncio.create_task(streams.read(http, base, user, secret_key)))
            await asyncio.wait_for(streams.all_opened.wait(), WAIT)
            await asyncio.sleep(0.5)  # their first events are sent
        after = [rss_kb(w.pid) for w in webs]
        publisher = Redis.from_url(redis_url)
        if args.restart:
            await publisher.aclose()
            server.terminate()
            await server.wait()
            server = await redis_server(port, folder)
            publisher = Redis.from_url(redis_url)
        engine = create_engine(args.database_url)
        channel = InAppChannel(sessionmaker(engine), publisher)
        content = Content(subject=token("title"), text="Checkout errors: we are on it.")
        started = time.perf_counter()
        for start in range(0, len(pairs), BATCH):
            recipients = [
                Recipient(delivery, user, {"title": "Checkout errors"})
                for delivery, user in pairs[start : start + BATCH]
            ]
            await channel.send(content, recipients)
        sent = time.perf_counter() - started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(streams.all_arrived.wait(), WAIT)
        await asyncio.sleep(1.0)  # copies that come late count as duplicates too
        await publisher.aclose()
        await engine.dispose()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.close()
        for w in webs:
            stop(w)
        server.terminate()
        await server.wait()
    firsts = sorted(a[0] - started for a in streams.arrivals.values() if a)
    copies = Counter(len(a) for a in streams.arrivals.values())
    lost = copies.get(0, 0)
    duplicated = sum((k - 1) * v for k, v in copies.items() if k > 1)
    quantiles = statistics.quantiles(firsts, n=100) if len(firsts) > 1 else [0.0] * 99
    return {
        "streams": args.streams,
        "restart": args.restart,
        "send_s": round(sent, 3),
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
        "max_ms": round(max(firsts, default=0.0) * 1000, 1),
        "kb_per_stream": round((sum(after) - sum(before)) / (args.streams - args.streams // 2), 1),
        "lost": lost,
        "duplicated": duplicated,
        "resyncs": streams.resyncs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--restart", action="store_true", help="restart Redis before the send")
    parser.add_argument("--database-url", default=DATABASE_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(run(args, Path(folder)))
    print(
        f"{figures['streams']} streams over 2 web processes"
        f"{' after a Redis restart' if figures['restart'] else ''}: "
        f"send {figures['send_s']} s; message after p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms; "
        f"{figures['kb_per_stream']} KB per open stream; lost {figures['lost']}, "
        f"duplicated {figures['duplicated']}, resync events {figures['resyncs']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
