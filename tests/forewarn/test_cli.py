"""The real ``forewarn`` console script, run as a subprocess against a real database."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import os
import re
import signal
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import inspect

from forewarn.cli import main
from notifier.db import Base, create_engine
from tests.databases import empty_database
from tests.forewarn.command import (
    COMMAND_TIMEOUT,
    KEY,
    START_TIMEOUT,
    Forewarn,
    environment,
    free_port,
    read_banner,
    redis_servers,
    wait_until_healthy,
    web_processes_started_by,
)


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


async def test_web_with_several_processes_on_any_free_port_says_which(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    process = await forewarn.start(
        "web", "--port", "0", "--processes", "2", env=env, stderr=tmp_path / "web.stderr"
    )
    assert process.stdout is not None
    async with asyncio.timeout(START_TIMEOUT):
        line = (await process.stdout.readline()).decode()
    base = line.removeprefix("status page: ").strip().rstrip("/")
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(COMMAND_TIMEOUT):
        assert await process.wait() == 0


async def test_web_with_no_processes_is_refused(forewarn: Forewarn, env: dict[str, str]) -> None:
    result = await forewarn.run("web", "--processes", "0", env=env)
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


# --- the command itself: help and version ---------------------------------------------

COMMANDS = [
    [],
    ["run"],
    ["web"],
    ["worker"],
    ["migrate"],
    ["publish"],
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
    assert listed == [
        "run",
        "web",
        "worker",
        "migrate",
        "publish",
        "outbox",
        "api-key",
        "deliveries",
    ]
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
