"""A worker killed with SIGKILL mid fan-out: how long until every message arrived, and
how many went out twice against the calls it had in flight.

    .venv/bin/python -m bench.killed                        # both ways, once each
    .venv/bin/python -m bench.killed --runs 3 --mode other  # another worker running

An audience of 5,000 (every 10th with a phone: 500 texts, 5,000 emails), the default
delivery settings (the sender's rate as in bench/fanout.py), real ``forewarn worker``
processes with loopback fakes of their own that answer slowly (a text in 0.2 s, an email
request in 1 s), so that the kill lands with calls in flight. One incident is posted;
the doomed worker is killed once its fakes have taken ``--kill-after`` texts (default
1: mid fan-out) or an email request. Mode ``other``: a second worker is started with
it, paused (SIGSTOP, so that the doomed worker takes the work) and resumed just before
the kill; ``new``: a new worker starts after the kill. Prints, per run, the seconds
from the kill (and from the other worker's start) to the last first arrival, the
duplicates, and the calls in flight at the kill (sent, outcome not recorded); last, one
JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bench._common import DATABASE_URL, REDIS_URL, flush_redis, reset_database, seed
from notifier.db import create_engine, sessionmaker
from notifier.tables import Customer, Delivery, Notification
from status_page import create_app
from tests.conftest import make_settings
from tests.resilience.cluster import Providers, WorkerProcess, worker_environment

AUDIENCE = 5000
SMS_EVERY = 10
# Twilio's per-sender throughput, as in bench/fanout.py: not what is measured here.
DELIVERY = {"sms_per_second": 10_000}


async def run(mode: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    await reset_database(args.database_url)
    await flush_redis(args.redis_url)
    secret, _component, phones = await seed(args.database_url, AUDIENCE, SMS_EVERY, False)
    engine = create_engine(args.database_url)
    sessions = sessionmaker(engine)
    doomed_fakes = Providers(sms_delay=0.2, email_delay=1.0)
    other_fakes = Providers(sms_delay=0.2, email_delay=1.0)
    await doomed_fakes.start()
    await other_fakes.start()
    settings = make_settings(args.database_url, args.redis_url)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    workers: list[WorkerProcess] = []

    def start(fakes: Providers, name: str) -> WorkerProcess:
        env = worker_environment(args.database_url, args.redis_url, fakes, DELIVERY)
        workers.append(WorkerProcess(env, directory / mode, name))
        return workers[-1]

    try:
        doomed = start(doomed_fakes, "doomed")
        other = start(other_fakes, "other") if mode == "other" else None
        for worker in workers:
            await worker.ready()
        if other is not None:
            other.pause()  # so that the doomed worker takes the fan-out and its batches
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://{host}:{port}/api/v1/incidents",
                json={"title": "Checkout errors", "body": "Some card payments fail."},
                headers={"Authorization": f"Bearer {secret}"},
            ) as response,
        ):
            assert response.status == 201, await response.text()
        for _ in range(3000):
            taken = len(doomed_fakes.sms.accepted) + len(doomed_fakes.sms.in_flight)
            if taken >= args.kill_after or doomed_fakes.email.in_flight:
                break
            await asyncio.sleep(0.01)
        async with sessions() as session:
            fan_out = await session.scalar(select(Notification.status))
        if other is not None:
            other.resume()  # running, and free to take work, when the other is killed
        killed_at = doomed.kill()
        await asyncio.sleep(0.5)  # what it sent just before dying is still arriving
        unanswered = {
            "sms_calls": len(doomed_fakes.sms.in_flight),
            "email_requests": len(doomed_fakes.email.in_flight),
            "email_recipients": sum(len(a) for a in doomed_fakes.email.in_flight.values()),
        }
        if other is None:
            other = start(other_fakes, "other")
        expected = AUDIENCE + phones
        for _ in range(6000):  # ten minutes at most
            arrived = {a for g in _gates(doomed_fakes, other_fakes) for a in g.delivered}
            if len(arrived) >= expected:
                async with sessions() as session:
                    left = await session.scalar(
                        select(func.count()).where(Delivery.status.in_(("pending", "sending")))
                    )
                if not left and not doomed_fakes.sms.in_flight and not doomed_fakes.email.in_flight:
                    break
            await asyncio.sleep(0.1)
        # What the doomed worker recorded: the rest of what its fakes took was in flight.
        async with sessions() as session:
            recorded = await session.execute(
                select(Customer.email, Customer.phone, Delivery.channel)
                .join(Customer, Customer.id == Delivery.customer_id)
                .where(Delivery.provider_id.in_(sorted(doomed_fakes.provider_ids())))
            )
            by_doomed = {
                email if channel == "email" else phone for email, phone, channel in recorded
            }
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.stop)
        await runner.cleanup()
        await engine.dispose()
        await doomed_fakes.stop()
        await other_fakes.stop()

    gates = _gates(doomed_fakes, other_fakes)
    first: dict[str, float] = {}
    for gate in gates:
        for at, addresses in gate.accepted:
            for address in addresses:
                first[address] = min(at, first.get(address, at))
    texts = Counter(doomed_fakes.sms.delivered + other_fakes.sms.delivered)
    mail = Counter(doomed_fakes.email.delivered + other_fakes.email.delivered)
    unrecorded_texts = set(doomed_fakes.sms.delivered) - by_doomed
    unrecorded_mail = set(doomed_fakes.email.delivered) - by_doomed
    result = {
        "mode": mode,
        "fan_out_at_kill": fan_out,
        "texts": len(texts),
        "emails": len(mail),
        "lost": AUDIENCE + phones - len(texts) - len(mail),
        "last_arrival_after_kill_s": round(max(first.values()) - killed_at, 2),
        "last_arrival_after_other_start_s": round(max(first.values()) - other.started, 2),
        "last_send_after_kill_s": round(
            max(at for g in (other_fakes.sms, other_fakes.email) for at, _ in g.accepted)
            - killed_at,
            2,
        ),
        "duplicate_texts": sum(n - 1 for n in texts.values()),
        "duplicate_emails": sum(n - 1 for n in mail.values()),
        "unanswered_at_kill": unanswered,
        "unrecorded_texts": len(unrecorded_texts),
        "unrecorded_emails": len(unrecorded_mail),
        "duplicates_outside_unrecorded": len(
            {a for a, n in {**texts, **mail}.items() if n > 1} - unrecorded_texts - unrecorded_mail
        ),
    }
    print(
        f"{mode}: killed with the fan-out {fan_out}; every message arrived "
        f"{result['last_arrival_after_kill_s']} s after the kill "
        f"({result['last_arrival_after_other_start_s']} s after the other worker's start; "
        f"its last send {result['last_send_after_kill_s']} s after the kill); "
        f"lost {result['lost']}\n"
        f"  duplicates: {result['duplicate_texts']} texts, {result['duplicate_emails']} emails; "
        f"in flight at the kill (sent, outcome unrecorded): {len(unrecorded_texts)} texts, "
        f"{len(unrecorded_mail)} emails; unanswered by the fakes: {unanswered}",
        flush=True,
    )
    return result


def _gates(*providers: Providers) -> list[Any]:
    return [gate for p in providers for gate in (p.sms, p.email)]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["other", "new", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--kill-after",
        type=int,
        default=1,
        help="kill once its fakes took this many texts (or an email request); 1: mid fan-out",
    )
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    modes = ["other", "new"] if args.mode == "both" else [args.mode]
    results = []
    with tempfile.TemporaryDirectory(prefix="forewarn-killed-") as directory:
        for _ in range(args.runs):
            for mode in modes:
                started = time.perf_counter()
                results.append(await run(mode, args, Path(directory)))
                print(f"  (run took {time.perf_counter() - started:.0f} s)", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
