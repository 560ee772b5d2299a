"""``forewarn web`` stopped with SIGTERM: it refuses new connections at once, finishes
the request in flight, and exits 0; with ``--processes``, the signal to the parent
drains every web process it supervises, and none is left.

The request in flight is a slow upload: an incident posted through the ops API whose
body arrives in two parts, the second only after the server stopped accepting.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.forewarn.command import (
    COMMAND_TIMEOUT,
    START_TIMEOUT,
    Forewarn,
    create_key,
    free_port,
    wait_until_healthy,
    web_processes_started_by,
)


async def refusing(port: int) -> None:
    """Until a new connection to ``port`` is refused (bounded, never timed)."""
    async with asyncio.timeout(COMMAND_TIMEOUT):
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except ConnectionRefusedError:
                return
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.05)


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """An HTTP/1.1 response's status and headers."""
    status_line = (await reader.readline()).decode()
    status = int(status_line.split()[1])
    headers = {}
    while line := (await reader.readline()).decode().strip():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


BODY = json.dumps({"title": "Slow upload", "body": "Posted while the server stops."}).encode()


UPLOADS = 6


async def serving(stderr: Path, processes: int) -> None:
    """Until the ``processes`` web processes of ``--processes`` serve (bounded); with one,
    the parent serves itself."""
    children = processes if processes > 1 else 0
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            text = await asyncio.to_thread(stderr.read_text)
            if text.count("web process serving") >= children:
                return
            await asyncio.sleep(0.05)


async def slow_upload(port: int, key: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An incident posted to ``port`` whose body is sent in part: the rest is the
    caller's to send (``BODY[10:]``)."""
    async with asyncio.timeout(START_TIMEOUT):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/incidents HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{port}\r\n".encode()
            + f"Authorization: Bearer {key}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(BODY)}\r\n".encode()
            # The server's 100 Continue says the request is being handled.
            + b"Expect: 100-continue\r\n\r\n"
        )
        await writer.drain()
        continued, _headers = await read_head(reader)
        assert continued == 100
        writer.write(BODY[:10])
        await writer.drain()
    return reader, writer


@pytest.mark.parametrize("processes", [1, 2])
async def test_web_finishes_the_request_in_flight_and_refuses_new_connections(
    processes: int, forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    key = await create_key(forewarn, env, "shutdown", "admin")
    port = free_port()
    process = await forewarn.start(
        *["web", "--port", str(port), "--processes", str(processes)],
        env=env,
        stderr=tmp_path / "web.stderr",
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
    await serving(tmp_path / "web.stderr", processes)
    children = web_processes_started_by(process.pid)

    # Several, so that each process likely has some (the kernel spreads connections).
    uploads = [await slow_upload(port, key) for _ in range(UPLOADS)]

    process.send_signal(signal.SIGTERM)
    await refusing(port)

    answers = []
    async with asyncio.timeout(COMMAND_TIMEOUT):
        for _reader, writer in uploads:
            writer.write(BODY[10:])
            await writer.drain()
        for reader, writer in uploads:
            status, headers = await read_head(reader)
            answer = json.loads(await reader.readexactly(int(headers["content-length"])))
            writer.close()
            answers.append((status, answer["title"]))
        assert await process.wait() == 0
    assert answers == [(201, "Slow upload")] * UPLOADS
    assert [pid for pid in children if os.path.exists(f"/proc/{pid}")] == []  # noqa: ASYNC240
    errors = (tmp_path / "web.stderr").read_text()
    assert "finishing requests in flight" in errors
    assert "Traceback" not in errors


@pytest.mark.parametrize("processes", [1, 2])
async def test_a_second_sigterm_while_draining_stops_at_once(
    processes: int, forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    key = await create_key(forewarn, env, "shutdown", "admin")
    port = free_port()
    process = await forewarn.start(
        *["web", "--port", str(port), "--processes", str(processes)],
        env=env,
        stderr=tmp_path / "web.stderr",
    )
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, f"http://127.0.0.1:{port}")
    await serving(tmp_path / "web.stderr", processes)
    # Wherever it is, the process serving it is stopped at once (the others are killed).
    reader, writer = await slow_upload(port, key)

    process.send_signal(signal.SIGTERM)
    await refusing(port)
    process.send_signal(signal.SIGTERM)

    async with asyncio.timeout(COMMAND_TIMEOUT):
        # The drain would wait for the rest of the body and then exit 0: the second
        # signal ends it, and the request with it.
        assert await process.wait() == 128 + signal.SIGTERM
        assert await reader.read() == b""
    writer.close()
    errors = (tmp_path / "web.stderr").read_text()
    assert "stopping at once (SIGTERM while stopping)" in errors
