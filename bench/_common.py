"""What the benchmarks share: a fresh database with an audience, the loopback fakes of
SendGrid and Twilio, and ``forewarn`` processes started with settings that match."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio
from sqlalchemy import insert, text

from notifier import api_keys, migrate
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.tables import Component, Consent, Customer, Subscription
from tests.fakes import FakeSendGrid, FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/forewarn_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
FROM_NUMBER = "+15005550006"


async def reset_database(url: str) -> None:
    admin = await asyncpg.connect(
        url.replace("postgresql+asyncpg", "postgresql").rsplit("/", 1)[0] + "/postgres"
    )
    name = url.rsplit("/", 1)[1]
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()


async def flush_redis(url: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()


# Time zones the audience lives in (``--zones N`` takes the first N): each is a
# rendering group of its own, as every message is written in its recipient's zone.
ZONES = (
    "UTC",
    "Asia/Tokyo",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "America/Los_Angeles",
    "America/Chicago",
    "Asia/Singapore",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Europe/Paris",
    "America/Sao_Paulo",
    "Asia/Shanghai",
    "Asia/Seoul",
    "Europe/Istanbul",
    "Africa/Johannesburg",
    "America/Toronto",
    "Pacific/Auckland",
    "Asia/Dubai",
    "America/Mexico_City",
)


async def seed(
    url: str, audience: int, sms_every: int, sms_only: bool, zones: int = 1
) -> tuple[str, str, int]:
    """Migrate, then ``audience`` page subscribers (every ``sms_every``-th with a phone;
    with ``sms_only`` nobody has consented to email; spread over the first ``zones`` of
    ``ZONES``). Returns an admin API key, the id
    of a component, and how many subscribers have a phone."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    now = utcnow()
    async with sessionmaker(engine)() as session, session.begin():
        component = Component(name="Checkout API", created_at=now, updated_at=now)
        session.add(component)
        await session.flush()
        component_id = component.id
        _key, secret = await api_keys.create_key(session, "bench", ["admin"], now=now)
    phones = 0
    chunk = 5000
    for start in range(0, audience, chunk):
        customers, subs, consents = [], [], []
        for i in range(start, min(audience, start + chunk)):
            cid = f"c{i:011d}"
            phone = f"+1415{i % 10_000_000:07d}" if i % sms_every == 0 else None
            phones += phone is not None
            customers.append(
                {
                    "id": cid,
                    "external_id": f"bench-{i}",
                    "given_name": f"Person {i}",
                    "email": f"p{i}@example.com",
                    "phone": phone,
                    "locale": "ja" if i % 3 == 0 else "en",
                    "time_zone": ZONES[i % zones],
                    "created_at": now,
                    "updated_at": now,
                }
            )
            subs.append({"customer_id": cid, "component_id": None, "created_at": now})
            channels = [c for c, on in (("email", not sms_only), ("sms", bool(phone))) if on]
            for channel in channels:
                consents.append(
                    {
                        "customer_id": cid,
                        "channel": channel,
                        "method": "imported",
                        "legal_basis": "contract",
                        "created_at": now,
                        "confirmed_at": now,
                    }
                )
        async with sessionmaker(engine)() as session, session.begin():
            await session.execute(insert(Customer), customers)
            await session.execute(insert(Subscription), subs)
            await session.execute(insert(Consent), consents)
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE"))
    await engine.dispose()
    return secret, component_id, phones


def fakes() -> tuple[FakeSendGrid, FakeTwilio]:
    """Loopback SendGrid and Twilio with fresh credentials (not started)."""
    sendgrid = FakeSendGrid(api_key="SG.bench-" + secrets.token_urlsafe(8))
    twilio = FakeTwilio(account_sid="AC" + secrets.token_hex(16), auth_token=secrets.token_hex(16))
    return sendgrid, twilio


def provider_settings(
    sendgrid: FakeSendGrid, twilio: FakeTwilio, sms_per_second: float
) -> dict[str, Any]:
    """Overrides for ``tests.conftest.make_settings``: the fakes as the providers."""
    return {
        "sendgrid": {
            "api_key": sendgrid.api_key,
            "from_email": "status@example.com",
            "base_url": sendgrid.url,
        },
        "twilio": {
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "from_number": FROM_NUMBER,
            "base_url": twilio.url,
        },
        "delivery": {"sms_per_second": sms_per_second},
    }


def environment(
    database_url: str,
    redis_url: str,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    sms_per_second: float,
    secret_key: str,
) -> dict[str, str]:
    """The same settings for a ``forewarn`` process: this environment, none of its own
    ``FOREWARN_`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    env.update(
        FOREWARN_DATABASE_URL=database_url,
        FOREWARN_REDIS_URL=redis_url,
        FOREWARN_SECRET_KEY=secret_key,
        FOREWARN_PUBLIC_URL="http://status.test",
        FOREWARN_SENDGRID__API_KEY=sendgrid.api_key,
        FOREWARN_SENDGRID__FROM_EMAIL="status@example.com",
        FOREWARN_SENDGRID__BASE_URL=sendgrid.url,
        FOREWARN_TWILIO__ACCOUNT_SID=twilio.account_sid,
        FOREWARN_TWILIO__AUTH_TOKEN=twilio.auth_token,
        FOREWARN_TWILIO__FROM_NUMBER=FROM_NUMBER,
        FOREWARN_TWILIO__BASE_URL=twilio.url,
        FOREWARN_DELIVERY__SMS_PER_SECOND=str(sms_per_second),
    )
    return env


def start_forewarn(
    arguments: list[str], env: dict[str, str], *, profile: str = ""
) -> subprocess.Popen[bytes]:
    """``forewarn ARGUMENTS`` (under py-spy writing ``profile``, if given)."""
    command = [sys.executable, "-m", "forewarn", *arguments]
    if profile:
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        command = [py_spy, "record", "-o", profile, "-f", "raw", "--", *command]
    return subprocess.Popen(  # noqa: S603  (started once, before timing)
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: nothing outlives the benchmark
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the whole group (py-spy writes its file on it), SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def measured_pid(process: subprocess.Popen[bytes]) -> int:
    """The ``forewarn`` process of ``start_forewarn``: py-spy's child when profiled (py-spy's
    own memory and CPU are not the worker's)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if Path(f"/proc/{process.pid}/comm").read_text().strip() == "py-spy" and children.exists():
        found = children.read_text().split()
        if found:
            return int(found[0])
    return process.pid


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of process ``pid`` so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far: steadier than rates when other
    work shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
