"""Redis away for ten seconds (issue 16, fault 2): a real ``forewarn worker`` and a real
``forewarn web`` on a ``redis-server`` of the test's own, which is killed and started
again empty on the same port. An incident posted meanwhile is answered 201 (the web
process only logs that it could not enqueue); once Redis is back the worker, still
running, takes jobs again and the sweeper sends what is due: every message arrives at
the loopback providers, once.

The run prints the seconds from Redis's return to the last arrival; only correctness
is asserted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import signing
from notifier.tables import Delivery
from tests.forewarn.test_web_processes_streams import read_event
from tests.inapp import deliver
from tests.resilience.cluster import (
    Providers,
    RedisServer,
    WebProcess,
    WorkerProcess,
    add_audience,
    worker_environment,
)
from tests.resilience.faults import until

Sessions = async_sessionmaker[AsyncSession]
OUTAGE_SECONDS = 10
# Generous bounds on waiting (never asserted as speed): the sweeper runs every 15 s.
SETTLE_SECONDS = 120
DELIVERY = {"sweep_grace_seconds": 1, "retry_base_seconds": 0.2}
USER = "user-1"


async def test_a_redis_outage_of_ten_seconds_loses_no_message_and_the_worker_runs_on(
    database_url: str,
    sessions: Sessions,
    admin: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    redis = RedisServer(tmp_path / "redis")
    await asyncio.to_thread(redis.start)
    emails, phones = await add_audience(sessions, 20, phone_every=2)
    providers = Providers(sms_delay=0, email_delay=0)
    await providers.start()
    env = worker_environment(database_url, redis.url, providers, DELIVERY)
    worker = WorkerProcess(env, tmp_path, "worker")
    web = WebProcess(env, tmp_path, "web")
    try:
        await worker.ready()
        base = await web.ready()

        await asyncio.to_thread(redis.stop)
        lost_at = time.monotonic()

        async def worker_lost_redis() -> bool:
            return b"lost Redis" in worker.log.read_bytes()

        await until(worker_lost_redis, f"the worker notices\n{worker.log.read_text()}", 60)
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{base}/api/v1/incidents",
                json={"title": "Checkout errors", "body": "Some payments fail. We are on it."},
                headers=admin,
            ) as posted,
        ):
            assert posted.status == 201, await posted.text()
        assert b"could not enqueue" in web.log.read_bytes()
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - lost_at)))
        await asyncio.to_thread(redis.start)
        back_at = time.monotonic()
        assert worker.process.poll() is None, worker.log.read_text()

        async def everything_arrived() -> bool:
            texts, mail = set(providers.sms.delivered), set(providers.email.delivered)
            if not (texts >= set(phones) and mail >= set(emails)):
                return False
            async with sessions() as session:
                unfinished = await session.scalar(
                    select(func.count()).where(Delivery.status.in_(("pending", "sending")))
                )
            return unfinished == 0

        logs = f"{worker.log.read_text()[-3000:]}\n{web.log.read_text()[-2000:]}"
        await until(everything_arrived, f"every message\n{logs}", SETTLE_SECONDS)
        arrived_at = time.monotonic()
        await asyncio.sleep(1)  # anything sent twice would arrive meanwhile
        assert worker.process.poll() is None, worker.log.read_text()
    finally:
        await asyncio.to_thread(web.stop)
        await asyncio.to_thread(worker.stop)
        await providers.stop()
        await asyncio.to_thread(redis.stop)
    texts = Counter(providers.sms.delivered)
    mail = Counter(providers.email.delivered)
    with capsys.disabled():
        print(
            f"\nRedis away {back_at - lost_at:.1f} s: {len(texts)} texts and {len(mail)} emails "
            f"arrived {arrived_at - back_at:.1f} s after it came back; sent twice: "
            f"{sum(n - 1 for n in [*texts.values(), *mail.values()])}"
        )
    assert set(texts) == set(phones)
    assert set(mail) == set(emails)
    assert set(texts.values()) == {1}
    assert set(mail.values()) == {1}
    # The same worker process, whose arq worker started again once Redis was back.
    assert worker.log.read_text().count("Starting worker for") >= 2


async def test_a_web_process_started_while_redis_is_away_serves_and_catches_up(
    database_url: str, sessions: Sessions, admin: dict[str, str], tmp_path: Path
) -> None:
    """Redis away from the start: ``forewarn web`` still starts and serves the page and
    the API; a stream opened meanwhile is told to resync once Redis is there, then
    receives live; and what was posted meanwhile reaches every subscriber once."""
    redis = RedisServer(tmp_path / "redis")  # not started yet
    emails, phones = await add_audience(sessions, 6, phone_every=2)
    providers = Providers(sms_delay=0, email_delay=0)
    await providers.start()
    env = worker_environment(database_url, redis.url, providers, DELIVERY)
    web = WebProcess(env, tmp_path, "web")
    worker: WorkerProcess | None = None
    try:
        base = await web.ready()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/") as page:
                assert page.status == 200
                assert "All Systems Operational" in await page.text()
            async with http.post(
                f"{base}/api/v1/incidents",
                json={"title": "Checkout errors", "body": "Some payments fail. We are on it."},
                headers=admin,
            ) as posted:
                assert posted.status == 201, await posted.text()
            assert b"could not enqueue" in web.log.read_bytes()
            hash_ = signing.inapp_hash(env["FOREWARN_SECRET_KEY"], USER)
            async with http.get(
                f"{base}/inbox/stream", params={"user": USER, "hash": hash_}
            ) as stream:
                assert stream.status == 200
                assert (await event_named(stream, "counts"))["event"] == "counts"

                await asyncio.to_thread(redis.start)
                resync = await event_named(stream, "resync")
                assert json.loads(resync["data"]) == {"reason": "redis"}
                client = Redis.from_url(redis.url)
                try:
                    [sent] = await deliver(sessions, client, USER, "Live again")
                finally:
                    await client.aclose()
                message = await event_named(stream, "message")
                assert message["id"] == str(sent)

        worker = WorkerProcess(env, tmp_path, "worker")

        async def everything_arrived() -> bool:
            return set(providers.sms.delivered) >= set(phones) and set(
                providers.email.delivered
            ) >= set(emails)

        await until(everything_arrived, f"every message\n{worker.log.read_text()}", SETTLE_SECONDS)
        await asyncio.sleep(1)  # anything sent twice would arrive meanwhile
    finally:
        await asyncio.to_thread(web.stop)
        if worker is not None:
            await asyncio.to_thread(worker.stop)
        await providers.stop()
        await asyncio.to_thread(redis.stop)
    assert sorted(providers.sms.delivered) == sorted(phones)
    assert sorted(providers.email.delivered) == sorted(emails)


async def event_named(stream: aiohttp.ClientResponse, name: str) -> dict[str, str]:
    """The next ``name`` event of an SSE stream (others skipped), within a minute."""
    while True:
        event = await read_event(stream)
        assert event is not None, f"the stream ended before a {name} event"
        if event["event"] == name:
            return event
