"""A worker stopped with SIGTERM mid fan-out: it exits 0, sees its provider calls in
flight through, hands back what it had claimed and not sent, and a worker started after
it sends the rest at once, each message exactly once.

Real ``forewarn worker`` processes on the test's database and Redis, each with loopback
fakes of its own (``tests.resilience.cluster``). The claim lease is far longer than the
test may run, so the rest can only go out because the stopped worker handed it back.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.tables import Delivery, Notification
from tests.conftest import Client
from tests.resilience.cluster import (
    Gate,
    Providers,
    WorkerProcess,
    add_audience,
    worker_environment,
)

Sessions = async_sessionmaker[AsyncSession]
CUSTOMERS = 2000
PHONE_EVERY = 4  # 500 texts and 2,000 emails
DELIVERY = {
    # Longer than the whole test: nothing stopped here may wait for a lease to lapse.
    "claim_lease_seconds": 900,
    "fanout_page_size": 100,
    "sms_batch_size": 40,
    "email_batch_size": 50,
    "sms_concurrency": 5,
    "sms_per_second": 1000,
    # Answers held over the stop must not time out first.
    "provider_timeout_seconds": 120,
    "retry_base_seconds": 0.2,
}


async def until(done: object, what: str, seconds: float = 120) -> None:
    """Poll ``done`` (an async predicate) until it holds; bounded generously, never timed."""
    for _ in range(int(seconds / 0.05)):
        if await done():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def statuses(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return {str(status): int(count) for status, count in rows}


async def notification_done(sessions: Sessions) -> bool:
    async with sessions() as session:
        return await session.scalar(select(Notification.status)) == "done"


def in_flight(gate: Gate) -> list[str]:
    return [a for addresses in gate.in_flight.values() for a in addresses]


async def test_a_stopped_worker_hands_back_its_batch_and_nothing_goes_twice(
    client: Client,
    admin: dict[str, str],
    database_url: str,
    redis_url: str,
    sessions: Sessions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emails, phones = await add_audience(sessions, CUSTOMERS, phone_every=PHONE_EVERY)
    first_providers = Providers(sms_delay=0.05, email_delay=0.3)
    second_providers = Providers(sms_delay=0.01, email_delay=0.01)
    await first_providers.start()
    await second_providers.start()
    workers: list[WorkerProcess] = []

    def start(providers: Providers, name: str) -> WorkerProcess:
        env = worker_environment(database_url, redis_url, providers, DELIVERY)
        # No grace: running jobs are stopped at once, mid batch.
        env["FOREWARN_WORKER_SHUTDOWN_SECONDS"] = "0"
        workers.append(WorkerProcess(env, tmp_path, name))
        return workers[-1]

    try:
        first = start(first_providers, "first")
        await first.ready()
        posted = await client.post(
            "/api/v1/incidents",
            json={"title": "Checkout errors", "body": "Some payments fail. We are on it."},
            headers=admin,
        )
        assert posted.status == 201, await posted.text()

        async def mid_send() -> bool:
            return len(first_providers.sms.delivered) >= 20

        await until(mid_send, "the first worker sends")
        # Its answers held: the calls in flight at the stop are known, and stay in flight
        # while the worker is told to stop.
        first_providers.hold(True)

        async def calls_in_flight() -> bool:
            return bool(first_providers.sms.in_flight)

        await until(calls_in_flight, "texts in flight", 30)
        fanning_out = not await notification_done(sessions)
        os.killpg(first.process.pid, signal.SIGTERM)
        await asyncio.sleep(1.0)
        texts_in_flight = in_flight(first_providers.sms)
        email_in_flight = in_flight(first_providers.email)
        first_providers.hold(False)
        returncode = await asyncio.to_thread(first.process.wait, 60)
        after_stop = await statuses(sessions)
        answered_before = len(first_providers.sms.delivered) + len(first_providers.email.delivered)

        second = start(second_providers, "second")

        async def everything_sent() -> bool:
            return await notification_done(sessions) and set(await statuses(sessions)) == {"sent"}

        # Far within the claim lease: only handed-back work can be sent in time.
        await until(everything_sent, "every message sent", 240)
        await asyncio.to_thread(second.stop)
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.stop)
        await first_providers.stop()
        await second_providers.stop()

    texts = Counter(first_providers.sms.delivered + second_providers.sms.delivered)
    mail = Counter(first_providers.email.delivered + second_providers.email.delivered)
    lost = len(set(phones) - set(texts)) + len(set(emails) - set(mail))
    twice = sum(n - 1 for n in texts.values() if n > 1) + sum(n - 1 for n in mail.values() if n > 1)
    report = (
        f"\nSIGTERM {'mid fan-out and ' if fanning_out else ''}mid send: exit {returncode}; "
        f"{answered_before} messages sent by the stopped worker, with {len(texts_in_flight)} "
        f"texts and {len(email_in_flight)} emails in flight at the stop; deliveries after "
        f"it: {after_stop}; the second worker sent {second_providers.answered}"
        f"\n{lost} messages lost, {twice} sent twice"
    )
    with capsys.disabled():  # shown by every run, not only a failing one
        print(report)
    log = first.log.read_text()
    assert returncode == 0, log[-3000:]
    # Nothing left claimed: each call in flight was seen through and recorded, each
    # unsent claim handed back.
    assert "sending" not in after_stop, log[-3000:]
    assert after_stop.get("pending", 0) > 0
    assert lost == 0
    assert twice == 0
    assert set(texts) == set(phones)
    assert set(mail) == set(emails)
    # The calls in flight at the stop reached their provider once, from the first worker.
    assert set(texts_in_flight) <= set(first_providers.sms.delivered)
    assert not set(texts_in_flight) & set(second_providers.sms.delivered)
