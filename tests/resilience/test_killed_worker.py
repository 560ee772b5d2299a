"""A worker killed with SIGKILL mid fan-out or mid send: nothing lost, nothing sent twice
but the provider calls it had in flight, nothing stuck.

Real ``forewarn worker`` processes on the test's database and Redis (with SQLite, the
embedded Redis's socket is shared with them), each with loopback fakes of its own. The
doomed worker's fakes are slow, then hold their answers while it is killed, so that the
calls it had in flight are known exactly. Each run prints the seconds from the kill to
the last message's arrival and the duplicates against the calls in flight; it asserts
the bound and that nothing is lost, never the seconds (bench/killed.py measures them).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
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
CUSTOMERS = 600
PHONE_EVERY = 4  # 150 texts and 600 emails
# Small, so that the kill finds a fan-out under way, batches claimed and calls in flight.
DELIVERY = {
    "claim_lease_seconds": 3,
    "fanout_page_size": 40,
    # Batches larger than the calls a worker makes at once: some of a batch's texts are
    # answered while others wait, and those answered must not go out again.
    "sms_batch_size": 40,
    "email_batch_size": 40,
    "sms_concurrency": 5,
    "sms_per_second": 1000,
    # Answers held over the kill must not time out first (timeouts are another test's).
    "provider_timeout_seconds": 120,
    "retry_base_seconds": 0.2,
}


async def until(done: Callable[[], Awaitable[bool]], what: str, seconds: float = 120) -> None:
    """Poll ``done`` until it holds; bounded generously, never timed."""
    for _ in range(int(seconds / 0.05)):
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def unfinished(sessions: Sessions) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(Delivery.status.in_(("pending", "sending")))
        )
        notification = await session.scalar(select(Notification.status))
    return int(count or 0) + (notification != "done")


async def recorded(sessions: Sessions, providers: Providers) -> bool:
    """Has the worker recorded every message its providers accepted?"""
    ids = sorted(providers.provider_ids())
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Delivery.provider_id.in_(ids)))
    return count == providers.answered


def in_flight(gate: Gate) -> list[str]:
    return [a for addresses in gate.in_flight.values() for a in addresses]


def first_arrivals(gates: list[Gate]) -> dict[str, float]:
    first: dict[str, float] = {}
    for gate in gates:
        for at, addresses in gate.accepted:
            for address in addresses:
                first[address] = min(at, first.get(address, at))
    return first


@pytest.mark.parametrize("other_worker", ["started after the kill", "running at the kill"])
async def test_a_killed_worker_loses_nothing_and_repeats_only_its_calls_in_flight(
    other_worker: str,
    client: Client,
    admin: dict[str, str],
    database_url: str,
    redis_url: str,
    sessions: Sessions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emails, phones = await add_audience(sessions, CUSTOMERS, phone_every=PHONE_EVERY)
    doomed_providers = Providers(sms_delay=0.05, email_delay=0.2)
    other_providers = Providers(sms_delay=0.05, email_delay=0.2)
    await doomed_providers.start()
    await other_providers.start()
    workers: list[WorkerProcess] = []

    def start(providers: Providers, name: str) -> WorkerProcess:
        env = worker_environment(database_url, redis_url, providers, DELIVERY)
        workers.append(WorkerProcess(env, tmp_path, name))
        return workers[-1]

    running = other_worker == "running at the kill"
    try:
        doomed = start(doomed_providers, "doomed")
        await doomed.ready()
        posted = await client.post(
            "/api/v1/incidents",
            json={"title": "Checkout errors", "body": "Some payments fail. We are on it."},
            headers=admin,
        )
        assert posted.status == 201, await posted.text()

        async def mid_send() -> bool:
            texts = len(doomed_providers.sms.delivered) >= 5
            return texts and (not running or bool(doomed_providers.email.delivered))

        await until(mid_send, "the doomed worker sends")
        doomed_providers.hold(True)
        other = start(other_providers, "other") if running else None
        if other is not None:
            await other.ready()
        # Every answered call recorded: what it has unrecorded now is its calls in flight.
        await until(lambda: recorded(sessions, doomed_providers), "answers recorded", 30)
        fanning_out = await _fanning_out(sessions)
        killed_at = doomed.kill()
        await asyncio.sleep(0.5)  # what it sent just before dying is still arriving
        texts_in_flight = in_flight(doomed_providers.sms)
        email_in_flight = in_flight(doomed_providers.email)
        email_requests_in_flight = len(doomed_providers.email.in_flight)
        doomed_providers.hold(False)  # the provider accepts them although nobody hears it
        if other is None:
            other = start(other_providers, "other")

        async def everything_arrived() -> bool:
            texts = set(doomed_providers.sms.delivered) | set(other_providers.sms.delivered)
            mail = set(doomed_providers.email.delivered) | set(other_providers.email.delivered)
            return (
                texts >= set(phones)
                and mail >= set(emails)
                and await unfinished(sessions) == 0
                and not (doomed_providers.sms.in_flight or doomed_providers.email.in_flight)
            )

        await until(everything_arrived, "every message arrived", 180)
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.stop)
        await doomed_providers.stop()
        await other_providers.stop()

    gates = [doomed_providers.sms, other_providers.sms, doomed_providers.email]
    gates.append(other_providers.email)
    last = max(first_arrivals(gates).values())
    # The other worker's last send: a repeat, when the last arrival was a call in flight.
    last_sent = max(at for gate in gates[1::2] for at, _to in gate.accepted)
    texts = Counter(doomed_providers.sms.delivered + other_providers.sms.delivered)
    mail = Counter(doomed_providers.email.delivered + other_providers.email.delivered)
    twice_texts = {a: n - 1 for a, n in texts.items() if n > 1}
    twice_mail = {a: n - 1 for a, n in mail.items() if n > 1}
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        states = {status: count for status, count in rows}
        taken_over = await session.scalar(select(func.count()).where(Delivery.attempts > 1))
    lost = len(set(phones) - set(texts)) + len(set(emails) - set(mail))
    report = (
        f"\nkilled {'mid fan-out and ' if fanning_out else ''}mid send, the other worker "
        f"{other_worker}: every message arrived {last - killed_at:.1f} s after the kill "
        f"({last - other.started:.1f} s after the other worker's start; its last send "
        f"{last_sent - killed_at:.1f} s after the kill)"
        f"\nduplicates: {sum(twice_texts.values())} texts with {len(texts_in_flight)} calls "
        f"in flight at the kill; {sum(twice_mail.values())} emails with "
        f"{email_requests_in_flight} requests ({len(email_in_flight)} recipients) in flight"
        f"\n{taken_over} deliveries claimed by the killed worker were sent by the other; "
        f"{lost} messages lost"
    )
    with capsys.disabled():  # shown by every run, not only a failing one
        print(report)
    assert lost == 0
    assert states == {"sent": len(phones) + len(emails)}
    # Only calls in flight at the kill went out twice, and each at most once more.
    assert set(twice_texts) <= set(texts_in_flight)
    assert set(twice_mail) <= set(email_in_flight)
    assert sum(twice_texts.values()) <= len(texts_in_flight)
    assert sum(twice_mail.values()) <= len(email_in_flight)


async def _fanning_out(sessions: Sessions) -> bool:
    async with sessions() as session:
        status = await session.scalar(select(Notification.status))
    return status != "done"
