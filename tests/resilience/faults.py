"""A small Forewarn of real processes for the fault tests: one ``forewarn web``, two
``forewarn worker`` (each with loopback providers of its own), a Redis of the test's own
and the test's PostgreSQL; an audience of 5,000 and one incident posted to all of them.

What the providers accepted is the truth the tests count: every address that had to
hear, and each one that heard twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.tables import Delivery, Notification
from tests.resilience.cluster import (
    Gate,
    Providers,
    RedisServer,
    WebProcess,
    WorkerProcess,
    add_audience,
    worker_environment,
)

Sessions = async_sessionmaker[AsyncSession]
AUDIENCE = 5000
PHONE_EVERY = 4  # 1,250 texts and 5,000 emails
# Small pages and batches and a short lease, so that a fault finds a fan-out under way,
# batches claimed and calls in flight; the sweeper looks again after a second.
DELIVERY: dict[str, Any] = {
    "claim_lease_seconds": 3,
    "sweep_grace_seconds": 1,
    "fanout_page_size": 250,
    "sms_batch_size": 50,
    "email_batch_size": 250,
    "sms_concurrency": 10,
    "sms_per_second": 1000,
    "provider_timeout_seconds": 60,
    "retry_base_seconds": 0.2,
}


async def until(done: Callable[[], Awaitable[bool]], what: str, seconds: float) -> None:
    """Poll ``done`` until it holds; the bound is the issue's, or a generous one."""
    for _ in range(int(seconds / 0.1)):
        if await done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened within {seconds:.0f} s: {what}")


@dataclass
class Figures:
    """What the providers of both workers accepted, against what had to arrive."""

    texts: Counter[str]
    mail: Counter[str]
    lost: int
    states: dict[str, int]

    @property
    def twice_texts(self) -> int:
        return sum(n - 1 for n in self.texts.values() if n > 1)

    @property
    def twice_mail(self) -> int:
        return sum(n - 1 for n in self.mail.values() if n > 1)


class Cluster:
    """Web, two workers, Redis; started by ``start``, stopped by ``stop`` (always call it)."""

    def __init__(
        self, directory: Path, database_url: str, sessions: Sessions, delay: float = 0.1
    ) -> None:
        self.directory = directory
        self.database_url = database_url
        self.sessions = sessions
        self.redis = RedisServer(directory / "redis")
        self.providers = [Providers(sms_delay=delay, email_delay=delay) for _ in range(2)]
        self.workers: list[WorkerProcess] = []
        self.web: WebProcess | None = None
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    async def start(self) -> str:
        """Start every process; returns the web's base URL."""
        await asyncio.to_thread(self.redis.start)
        emails, phones = await add_audience(self.sessions, AUDIENCE, phone_every=PHONE_EVERY)
        self.emails, self.phones = set(emails), set(phones)
        for providers in self.providers:
            await providers.start()
        self.web = WebProcess(self._env(self.providers[0]), self.directory, "web")
        for n, providers in enumerate(self.providers):
            self.workers.append(WorkerProcess(self._env(providers), self.directory, f"worker{n}"))
        for worker in self.workers:
            await worker.ready()
        return await self.web.ready()

    def _env(self, providers: Providers) -> dict[str, str]:
        return worker_environment(self.database_url, self.redis.url, providers, DELIVERY)

    async def post_incident(self, headers: dict[str, str]) -> None:
        assert self.web is not None
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.web.url}/api/v1/incidents",
                json={"title": "Checkout errors", "body": "Some payments fail. We are on it."},
                headers=headers,
            ) as posted,
        ):
            assert posted.status == 201, await posted.text()

    async def stop(self) -> None:
        processes: list[WorkerProcess | WebProcess] = [*self.workers]
        if self.web is not None:
            processes.append(self.web)
        for process in processes:
            await asyncio.to_thread(process.stop)
        for providers in self.providers:
            await providers.stop()
        await asyncio.to_thread(self.redis.stop)

    @property
    def sms_gates(self) -> list[Gate]:
        return [p.sms for p in self.providers]

    @property
    def email_gates(self) -> list[Gate]:
        return [p.email for p in self.providers]

    def arrived(self) -> int:
        """Messages accepted by the providers so far (repeats included)."""
        return sum(p.answered for p in self.providers)

    def in_flight(self) -> int:
        """Provider calls waiting for their answer now."""
        return sum(len(g.in_flight) for g in self.sms_gates + self.email_gates)

    async def fanning_out(self) -> bool:
        async with self.sessions() as session:
            status = await session.scalar(select(Notification.status))
        return status is not None and status != "done"

    async def everything_arrived(self) -> bool:
        texts = {a for g in self.sms_gates for a in g.delivered}
        mail = {a for g in self.email_gates for a in g.delivered}
        if not (texts >= self.phones and mail >= self.emails) or self.in_flight():
            return False
        async with self.sessions() as session:
            unfinished = await session.scalar(
                select(func.count()).where(Delivery.status.in_(("pending", "sending")))
            )
        return unfinished == 0 and not await self.fanning_out()

    async def figures(self) -> Figures:
        texts = Counter(a for g in self.sms_gates for a in g.delivered)
        mail = Counter(a for g in self.email_gates for a in g.delivered)
        async with self.sessions() as session:
            rows = await session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            )
            states = {str(status): int(count) for status, count in rows}
        lost = len(self.phones - set(texts)) + len(self.emails - set(mail))
        return Figures(texts=texts, mail=mail, lost=lost, states=states)

    def logs(self) -> str:
        """The tail of every process's log, for a failure's message."""
        processes: list[WorkerProcess | WebProcess] = [*self.workers]
        if self.web is not None:
            processes.append(self.web)
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text()[-2000:]}" for p in processes)


async def recorded(sessions: Sessions, providers: Providers) -> bool:
    """Has the database recorded every message these providers accepted?"""
    ids = sorted(providers.provider_ids())
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Delivery.provider_id.in_(ids)))
    return count == providers.answered


async def exposed(cluster: Cluster) -> set[str]:
    """Addresses a fault now could make go twice: those of the calls in flight (made,
    unanswered) and of the calls answered whose outcome the database does not hold yet.
    Every other message is recorded as sent, and a recorded outcome is never sent again:
    design.md's "the window for a duplicate is one in-flight provider call"."""
    calls: dict[str, list[str]] = {}  # provider id -> the addresses that call carried
    for providers in cluster.providers:
        calls.update((r.sid, [r.to]) for r in providers.twilio.requests if r.sid)
        calls.update(
            (r.message_id, r.recipients) for r in providers.sendgrid.requests if r.message_id
        )
    unanswered = set(in_flight(cluster.sms_gates + cluster.email_gates))
    async with cluster.sessions() as session:
        recorded = set(
            await session.scalars(
                select(Delivery.provider_id).where(Delivery.provider_id.in_(list(calls)))
            )
        )
    return unanswered | {a for sid, to in calls.items() if sid not in recorded for a in to}


def in_flight(gates: list[Gate]) -> list[str]:
    """Addresses of the calls these gates have not answered yet."""
    return [a for gate in gates for addresses in gate.in_flight.values() for a in addresses]
