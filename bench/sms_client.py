"""CPU per text: the ``sms`` channel against the ``twilio`` library's ``create_async``.

    .venv/bin/python -m bench.sms_client                 # 5,000 texts a round, 3 rounds
    .venv/bin/python -m bench.sms_client --texts 10000 --rounds 4

The fake Twilio (tests/fakes) runs in a child process, so this process's CPU time
(``time.process_time``) is the client's alone: ``TwilioSms.send`` (the channel the
worker uses, with its shared rate limit on Redis, db 14 unless ``--redis-url``) and
the library's ``messages.create_async`` (what ``bench.fanout`` calls the raw client)
send the same texts at the same concurrency, in turn, each round. Both share this
process and its load, so their ratio within a run means more than either figure.
Prints one line a round and a JSON object last: microseconds of CPU per text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from asyncio.subprocess import PIPE
from collections.abc import Awaitable, Callable

import redis.asyncio
import uvloop
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bench._common import FROM_NUMBER, REDIS_URL, ROOT, flush_redis
from config import TwilioSettings
from notifier.delivery.channels.base import Content, Recipient
from notifier.delivery.channels.sms import TwilioSms
from notifier.delivery.ratelimit import SharedRateLimit
from tests.fakes import FakeTwilio

SID, TOKEN = "AC" + "0" * 32, "bench-token"
CALLBACK = "http://status.test/webhooks/twilio/status"
TEXT = "%%greeting%% Checkout errors: identified. We are fixing it. %%url%%"


async def serve() -> None:
    """The fake Twilio, until killed; prints its URL."""
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    print(fake.url, flush=True)
    await asyncio.Event().wait()


async def cpu_per_text(send: Callable[[int], Awaitable[None]], texts: int) -> float:
    """Microseconds of this process's CPU per text, ``texts`` of them."""
    start = time.process_time()
    await send(texts)
    return 1e6 * (time.process_time() - start) / texts


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50, help="as sms_concurrency")
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()

    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.sms_client", "--serve", cwd=ROOT, stdout=PIPE
    )
    assert server.stdout is not None
    url = (await server.stdout.readline()).decode().strip()
    await flush_redis(args.redis_url)
    client = redis.asyncio.Redis.from_url(args.redis_url)
    settings = TwilioSettings(
        account_sid=SID, auth_token=TOKEN, from_number=FROM_NUMBER, base_url=url
    )
    channel = TwilioSms(
        settings,
        status_callback=CALLBACK,
        limit=SharedRateLimit(client, "sms:bench", per_second=100_000),
        timeout=10.0,
        concurrency=args.concurrency,
    )
    http = AsyncTwilioHttpClient(max_retries=None)
    library = Client(SID, TOKEN, http_client=http)
    library.api.base_url = url
    gate = asyncio.Semaphore(args.concurrency)
    content = Content(subject="", text=TEXT)

    async def by_channel(texts: int) -> None:
        recipients = [
            Recipient(i, f"+1415{i:07d}", {"greeting": "Hi Ana,", "url": "http://status.test/"})
            for i in range(texts)
        ]
        for start in range(0, texts, 1000):  # batches of 1,000, as the worker's
            await channel.send(content, recipients[start : start + 1000])

    async def by_library(texts: int) -> None:
        async def one(i: int) -> None:
            async with gate:
                await library.messages.create_async(
                    to=f"+1415{i:07d}",
                    from_=FROM_NUMBER,
                    body="Hi Ana, Checkout errors: identified. We are fixing it. "
                    "http://status.test/",
                    status_callback=CALLBACK,
                )

        await asyncio.gather(*(one(i) for i in range(texts)))

    try:
        await by_channel(500)  # warm: connections, caches
        await by_library(500)
        figures: dict[str, list[float]] = {"channel_us": [], "create_async_us": []}
        for n in range(args.rounds):
            figures["channel_us"].append(round(await cpu_per_text(by_channel, args.texts), 1))
            figures["create_async_us"].append(round(await cpu_per_text(by_library, args.texts), 1))
            print(
                f"round {n + 1}: channel {figures['channel_us'][-1]} us CPU/text, "
                f"create_async {figures['create_async_us'][-1]} us CPU/text"
            )
        ratios = [
            round(c / lib, 2)
            for c, lib in zip(figures["channel_us"], figures["create_async_us"], strict=True)
        ]
        print(json.dumps({**figures, "ratio": ratios, "load_average": os.getloadavg()[0]}))
    finally:
        await channel.close()
        await http.close()
        await client.aclose()
        server.kill()
        await server.wait()


if __name__ == "__main__":
    uvloop.run(serve() if sys.argv[1:] == ["--serve"] else main())
