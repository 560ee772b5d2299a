"""Fan-out benchmark: one incident update to a whole audience, through the real stack.

    .venv/bin/python -m bench.fanout                    # 10,000 subscribers
    .venv/bin/python -m bench.fanout --audience 100000

The web app runs in this process, the worker (`forewarn worker`) in its own, and
SendGrid and Twilio are the loopback fakes from tests/fakes. By default it uses the
machine's PostgreSQL (database forewarn_bench, recreated) and Redis (db 14).
Prints figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bench._common import (
    DATABASE_URL,
    REDIS_URL,
    cpu_seconds,
    environment,
    fakes,
    flush_redis,
    measured_pid,
    peak_rss_mb,
    provider_settings,
    reset_database,
    seed,
    start_forewarn,
    stop,
)
from status_page import create_app
from tests.conftest import make_settings
from tests.fakes import FakeSendGrid, FakeTwilio


class Clock:
    """When each fake first and last answered, on this process's monotonic clock."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.count: dict[str, int] = {"email": 0, "sms": 0}

    def middleware(self, channel: str) -> Any:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            now = time.perf_counter()
            self.first.setdefault(channel, now)
            response = await handler(request)
            self.last[channel] = time.perf_counter()
            return response

        return record


async def raw_rates(
    sendgrid: FakeSendGrid, twilio: FakeTwilio, emails: int, sms: int, concurrency: int
) -> tuple[float, float]:
    """The same clients against the same fakes with no database work at all."""
    body = {
        "personalizations": [
            {
                "to": [{"email": f"raw{i}@example.com"}],
                "custom_args": {"delivery_id": str(i)},
                "substitutions": {"%%greeting%%": f"Hi {i},"},
            }
            for i in range(1000)
        ],
        "from": {"email": "status@example.com"},
        "subject": "Raw",
        "content": [{"type": "text/plain", "value": "x" * 600}],
    }
    headers = {"Authorization": f"Bearer {sendgrid.api_key}"}
    requests = max(1, emails // 1000)
    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        for _ in range(requests):
            async with http.post(sendgrid.url + "/v3/mail/send", json=body, headers=headers) as r:
                assert r.status == 202
        email_rate = requests * 1000 / (time.perf_counter() - start)
    http_client = AsyncTwilioHttpClient()
    client = Client(twilio.account_sid, twilio.auth_token, http_client=http_client)
    client.api.base_url = twilio.url
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await client.messages.create_async(
                to=f"+1415{i:07d}",
                from_="+15005550006",
                body="Raw message",
                status_callback="http://x/cb",
            )

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(sms)))
    sms_rate = sms / (time.perf_counter() - start)
    await http_client.close()
    return email_rate, sms_rate


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--audience", type=int, default=10_000)
    parser.add_argument(
        "--sms-every", type=int, default=10, help="every Nth subscriber has a phone"
    )
    parser.add_argument(
        "--sms-only",
        action="store_true",
        help="no email consent: SMS alone, not sharing the worker",
    )
    # Twilio's per-sender throughput, not ours: high enough here not to be the limit.
    parser.add_argument("--sms-per-second", type=float, default=10_000)
    parser.add_argument(
        "--zones", type=int, default=1, help="time zones the audience is spread over (1-20)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="`forewarn worker` processes (CPU summed)"
    )
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()

    await reset_database(args.database_url)
    await flush_redis(args.redis_url)
    t = time.perf_counter()
    secret, component_id, phones = await seed(
        args.database_url, args.audience, args.sms_every, args.sms_only, args.zones
    )
    took = time.perf_counter() - t
    print(f"seeded {args.audience} subscribers ({phones} with a phone) in {took:.1f}s")

    clock = Clock()
    sendgrid, twilio = fakes()
    sendgrid.app.middlewares.append(clock.middleware("email"))
    twilio.app.middlewares.append(clock.middleware("sms"))
    await sendgrid.start()
    await twilio.start()
    provider = provider_settings(sendgrid, twilio, args.sms_per_second)
    settings = make_settings(args.database_url, args.redis_url, **provider)
    env = environment(
        args.database_url,
        args.redis_url,
        sendgrid,
        twilio,
        args.sms_per_second,
        secret_key=settings.secret_key.get_secret_value(),
    )
    profile = os.environ.get("BENCH_PROFILE", "")
    workers = [
        start_forewarn(["worker"], env, profile=f"{profile}.{n}" if profile and n else profile)
        for n in range(args.workers)
    ]
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    await asyncio.sleep(2)  # the worker connects and finishes its start-up cron jobs
    usage = resource.getrusage(resource.RUSAGE_SELF)
    bench_cpu_before = usage.ru_utime + usage.ru_stime

    try:
        async with aiohttp.ClientSession() as http:
            body = {
                "title": "Checkout errors",
                "body": "Some card payments fail. We are on it.",
                "components": [{"component_id": component_id, "status": "partial_outage"}],
            }
            async with http.post(
                f"http://{host}:{port}/api/v1/incidents",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
            ) as response:
                assert response.status == 201, await response.text()
            returned = time.perf_counter()
        expected_email, expected_sms = (0 if args.sms_only else args.audience), phones
        tally = _Tally()
        for _ in range(6000):  # up to 10 minutes
            emails, sms = tally.count(sendgrid, twilio)
            if emails >= expected_email and sms >= expected_sms:
                break
            await asyncio.sleep(0.1)
        emails, sms = len(sendgrid.delivered), len(twilio.delivered)
        # The largest worker's peak; every worker's CPU.
        peak = max(peak_rss_mb(measured_pid(worker)) for worker in workers)
        cpu = sum(cpu_seconds(measured_pid(worker)) for worker in workers)
        # This process: the fakes parsing every request, the web app, this loop. It
        # competes with the worker and PostgreSQL for the same cores.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        bench_cpu = usage.ru_utime + usage.ru_stime - bench_cpu_before
    finally:
        for worker in workers:
            stop(worker)
        await runner.cleanup()

    first = min(clock.first.values()) - returned
    email_all = clock.last["email"] - returned if emails else 0.0
    email_rate = emails / (clock.last["email"] - clock.first["email"]) if emails else 0.0
    sms_rate = sms / (clock.last["sms"] - clock.first["sms"]) if sms else 0.0
    duplicates = (emails - len(set(sendgrid.delivered))) + (sms - len(set(twilio.delivered)))
    raw_email, raw_sms = await raw_rates(
        sendgrid, twilio, expected_email, expected_sms, settings.delivery.sms_concurrency
    )
    await sendgrid.stop()
    await twilio.stop()

    print(
        f"audience: {args.audience} (email {emails}/{expected_email}, "
        f"sms {sms}/{expected_sms}, duplicates {duplicates})"
    )
    print(f"first provider request: {first:.3f} s after the API call returned")
    print(f"every email sent:       {email_all:.2f} s")
    print(f"email:  {email_rate:,.0f} deliveries/s   (raw client, no database: {raw_email:,.0f}/s)")
    print(
        f"sms:    {sms_rate:,.0f} deliveries/s   (raw client, no database: {raw_sms:,.0f}/s, "
        f"{100 * sms_rate / raw_sms:.0f}%)"
    )
    print(f"worker peak RSS: {peak:.1f} MB, CPU {cpu:.1f} s (start-up included)")
    print(f"this process (fakes, web app) during the run: CPU {bench_cpu:.1f} s")
    print(
        json.dumps(
            {
                "audience": args.audience,
                "workers": args.workers,
                "first_request_s": round(first, 3),
                "email_all_sent_s": round(email_all, 2),
                "email_per_s": round(email_rate),
                "email_raw_per_s": round(raw_email),
                "sms_per_s": round(sms_rate),
                "sms_raw_per_s": round(raw_sms),
                "sms_count": sms,
                "peak_rss_mb": round(peak, 1),
                "worker_cpu_s": round(cpu, 1),
                "bench_cpu_s": round(bench_cpu, 1),
                "load_average": round(os.getloadavg()[0], 1),
                "duplicates": duplicates,
                "complete": emails >= expected_email and sms >= expected_sms,
            }
        )
    )


class _Tally:
    """Messages the fakes accepted, counted from where the last count stopped: a list of
    100,000 addresses made ten times a second took CPU from the worker on 2 cores."""

    def __init__(self) -> None:
        self.seen = {"email": 0, "sms": 0}
        self.accepted = {"email": 0, "sms": 0}

    def count(self, sendgrid: FakeSendGrid, twilio: FakeTwilio) -> tuple[int, int]:
        mail, texts = sendgrid.requests[self.seen["email"] :], twilio.requests[self.seen["sms"] :]
        self.seen["email"] += len(mail)
        self.seen["sms"] += len(texts)
        self.accepted["email"] += sum(len(r.recipients) for r in mail if r.message_id)
        self.accepted["sms"] += sum(1 for r in texts if r.sid)
        return self.accepted["email"], self.accepted["sms"]


if __name__ == "__main__":
    asyncio.run(main())
