"""Faults mid fan-out on a Forewarn of real processes (``tests.resilience.faults``): a
lost Redis, dropped PostgreSQL connections, a slow provider. Nothing is lost.

Each run prints its figures (``pytest tests/resilience -s``, or in any run's output, as
they are printed past the capture): seconds, duplicates, latencies. Only correctness is
asserted, never the seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import make_url, text

from notifier.db import create_engine
from tests.conftest import PG_URL
from tests.resilience.faults import (
    Cluster,
    Figures,
    Sessions,
    exposed,
    in_flight,
    recorded,
    until,
)

pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="several processes on one database: needs PostgreSQL (FOREWARN_TEST_DATABASE_URL)",
)
# Generous bounds on waiting (never asserted as speed): the fault's recovery includes a
# sweep, which runs every 15 s.
SETTLE_SECONDS = 120


def _report(capsys: pytest.CaptureFixture[str], title: str, figures: Figures, *lines: str) -> None:
    report = "\n".join(
        [
            f"\n{title}",
            *lines,
            f"  arrived: {len(figures.texts)} texts, {len(figures.mail)} emails; "
            f"lost {figures.lost}; duplicates {figures.twice_texts} texts, "
            f"{figures.twice_mail} emails; deliveries {figures.states}",
        ]
    )
    with capsys.disabled():  # shown by every run, not only a failing one
        print(report)


async def _mid_send(cluster: Cluster) -> None:
    """Until some hundred messages have arrived, with more to come."""

    async def started() -> bool:
        return cluster.arrived() >= 300

    await until(started, "the workers send", SETTLE_SECONDS)


async def test_a_flushed_then_restarted_redis_loses_nothing(
    database_url: str,
    sessions: Sessions,
    admin: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = Cluster(tmp_path, database_url, sessions)
    try:
        await cluster.start()
        await cluster.post_incident(admin)
        await _mid_send(cluster)
        fanning_out = await cluster.fanning_out()
        before = cluster.arrived()
        at_risk = await exposed(cluster)
        cluster.redis.flush()
        await asyncio.to_thread(cluster.redis.stop)
        lost_at = time.monotonic()
        await asyncio.sleep(2)  # Redis is away; the processes' calls to it fail
        at_risk |= await exposed(cluster)
        await asyncio.to_thread(cluster.redis.start)
        back_at = time.monotonic()
        at_risk |= await exposed(cluster)
        await until(cluster.everything_arrived, f"every message\n{cluster.logs()}", SETTLE_SECONDS)
        done_at = time.monotonic()
        figures = await cluster.figures()
    finally:
        await cluster.stop()
    _report(
        capsys,
        f"Redis flushed and down for {back_at - lost_at:.1f} s "
        f"{'mid fan-out' if fanning_out else 'mid send'}, {before} messages sent before",
        figures,
        f"  every message arrived {done_at - back_at:.1f} s after Redis came back; "
        f"{len(at_risk)} messages in flight or unrecorded around the fault",
    )
    assert figures.lost == 0
    assert figures.states == {"sent": len(cluster.phones) + len(cluster.emails)}
    _assert_duplicates_within(figures, at_risk)


def _assert_duplicates_within(figures: Figures, at_risk: set[str]) -> None:
    """Duplicates at most the calls in flight: every address that heard twice was, around
    the fault, in a call in flight or answered but not yet recorded (``exposed``)."""
    twice = {a for a, n in (figures.texts + figures.mail).items() if n > 1}
    assert twice <= at_risk, f"{len(twice - at_risk)} duplicates beyond the calls in flight"
    assert figures.twice_texts + figures.twice_mail <= len(at_risk)


async def _drop_connections(database_url: str) -> int:
    """``pg_terminate_backend`` every other connection to the database; returns how many."""
    name = make_url(database_url).database
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            dropped = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
    finally:
        await engine.dispose()
    return int(dropped or 0)


async def test_dropped_database_connections_lose_nothing(
    database_url: str,
    sessions: Sessions,
    admin: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = Cluster(tmp_path, database_url, sessions)
    try:
        await cluster.start()
        await cluster.post_incident(admin)
        await _mid_send(cluster)
        fanning_out = await cluster.fanning_out()
        calls = [cluster.in_flight()]
        at_risk = await exposed(cluster)
        dropped = [await _drop_connections(database_url)]
        await asyncio.sleep(1)
        calls.append(cluster.in_flight())
        at_risk |= await exposed(cluster)
        dropped.append(await _drop_connections(database_url))  # and those that came back
        dropped_at = time.monotonic()
        # What the workers sent before hearing of the drop, and recorded on a dead connection:
        # looked at for a few seconds, since a loaded worker hears of it late.
        for _ in range(12):
            await asyncio.sleep(0.25)
            at_risk |= await exposed(cluster)
        await until(cluster.everything_arrived, f"every message\n{cluster.logs()}", SETTLE_SECONDS)
        done_at = time.monotonic()
        figures = await cluster.figures()
    finally:
        await cluster.stop()
    _report(
        capsys,
        f"PostgreSQL connections dropped {'mid fan-out' if fanning_out else 'mid send'}: "
        f"{dropped[0]}, then {dropped[1]} a second later; {calls[0]}, then {calls[1]} "
        "provider calls in flight",
        figures,
        f"  every message arrived {done_at - dropped_at:.1f} s after the second drop; "
        f"{len(at_risk)} messages in flight or unrecorded around the drops",
    )
    assert figures.lost == 0
    assert figures.states == {"sent": len(cluster.phones) + len(cluster.emails)}
    _assert_duplicates_within(figures, at_risk)


async def test_a_worker_killed_mid_fan_out_repeats_only_its_calls_in_flight(
    database_url: str,
    sessions: Sessions,
    admin: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = Cluster(tmp_path, database_url, sessions)
    doomed = cluster.providers[0]
    try:
        await cluster.start()
        await cluster.post_incident(admin)
        await _mid_send(cluster)
        # Its providers stop answering: once all it was answered is recorded, what it has
        # unanswered is exactly its calls in flight at the kill.
        doomed.hold(True)
        await until(lambda: recorded(sessions, doomed), "answers recorded", SETTLE_SECONDS)
        fanning_out = await cluster.fanning_out()
        killed_at = cluster.workers[0].kill()
        await asyncio.sleep(0.5)  # what it sent just before dying is still arriving
        texts_in_flight = in_flight([doomed.sms])
        mail_in_flight = in_flight([doomed.email])
        doomed.hold(False)  # the provider accepts them although nobody hears it
        # The bound: every message within 60 s of the kill.
        await until(cluster.everything_arrived, f"every message\n{cluster.logs()}", 60)
        done_at = time.monotonic()
        figures = await cluster.figures()
    finally:
        await cluster.stop()
    _report(
        capsys,
        f"a worker killed (SIGKILL) {'mid fan-out' if fanning_out else 'mid send'} with "
        f"{len(texts_in_flight)} texts and {len(mail_in_flight)} emails in flight",
        figures,
        f"  every message arrived {done_at - killed_at:.1f} s after the kill",
    )
    assert figures.lost == 0
    assert figures.states == {"sent": len(cluster.phones) + len(cluster.emails)}
    twice = {a for a, n in (figures.texts + figures.mail).items() if n > 1}
    assert twice <= set(texts_in_flight) | set(mail_in_flight)
    assert figures.twice_texts <= len(texts_in_flight)
    assert figures.twice_mail <= len(mail_in_flight)


async def test_a_slow_provider_leaves_the_page_and_the_ops_api_answering(
    database_url: str,
    sessions: Sessions,
    admin: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = Cluster(tmp_path, database_url, sessions, delay=2.0)  # seconds per call
    paths = ["/", "/api/v2/summary.json", "/api/v1/incidents"]
    seconds: dict[str, list[float]] = {path: [] for path in paths}
    statuses: list[int] = []
    try:
        base = await cluster.start()
        await cluster.post_incident(admin)

        async def sending() -> bool:
            return cluster.in_flight() > 0

        await until(sending, "the workers send", SETTLE_SECONDS)
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                for path in paths:
                    started = time.perf_counter()
                    async with http.get(base + path, headers=admin) as response:
                        await response.read()
                    seconds[path].append(time.perf_counter() - started)
                    statuses.append(response.status)
        unsent = len(cluster.phones) + len(cluster.emails) - cluster.arrived()
        for gate in cluster.sms_gates + cluster.email_gates:
            gate.delay = 0.02  # the provider recovers: the rest goes out quickly
        await until(cluster.everything_arrived, f"every message\n{cluster.logs()}", SETTLE_SECONDS)
        figures = await cluster.figures()
    finally:
        await cluster.stop()

    def percentiles(values: list[float]) -> str:
        ranked = sorted(values)
        p50, p99 = ranked[len(ranked) // 2], ranked[int(len(ranked) * 0.99) - 1]
        return f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {ranked[-1] * 1000:.0f} ms"

    _report(
        capsys,
        f"providers answering in 2 s: {len(statuses)} requests while deliveries went on "
        f"({unsent} messages still unsent after them)",
        figures,
        *(f"  GET {path}: {percentiles(seconds[path])}" for path in paths),
        f"  all: {percentiles([s for path in paths for s in seconds[path]])}",
    )
    assert set(statuses) == {200}
    assert unsent > 0  # measured while deliveries continued
    assert figures.lost == 0
