"""In-app streams across ``forewarn web --processes 2`` when one web process is killed
(SIGKILL): the streams it held end, those of the survivor keep receiving, and a stream
reconnected with ``Last-Event-ID`` gets every message it missed exactly once; the port
never refuses meanwhile.

Real processes on 127.0.0.1; messages are stored and published as the in-app channel of
a worker does (``tests.inapp``), into the database and Redis the web processes use.
Which process holds which stream is read from /proc (the socket's inode among the
process's file descriptors), never guessed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from config import Settings
from notifier.db import create_engine, sessionmaker
from tests.conftest import make_settings
from tests.forewarn.command import START_TIMEOUT, Forewarn, web_processes_started_by
from tests.forewarn.test_shutdown import refusing
from tests.forewarn.test_web_processes import Load, replaced, two_serving
from tests.inapp import Sessions, deliver
from tests.status_page.test_inbox import proof

SECRET = "test-secret-key-not-for-production"
USER = "user-1"
# Streams opened until both web processes hold some (the kernel shares the accepts).
MAX_STREAMS = 40
WAIT = 30


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url, secret_key=SECRET)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    engine = create_engine(settings.database_url)
    yield sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def read_event(response: aiohttp.ClientResponse) -> dict[str, str] | None:
    """The next event of the stream (comments skipped), or None once it ended."""
    fields: dict[str, str] = {}
    async with asyncio.timeout(WAIT):
        while True:
            try:
                raw = await response.content.readline()
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
                return None
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if fields:
                    return fields
                continue
            if not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")


async def messages(response: aiohttp.ClientResponse, count: int) -> list[int]:
    """The ids of the next ``count`` ``message`` events (``counts`` events skipped)."""
    ids: list[int] = []
    while len(ids) < count:
        event = await read_event(response)
        assert event is not None, f"the stream ended after {ids}"
        if event["event"] == "message":
            ids.append(int(json.loads(event["data"])["id"]))
            assert event["id"] == str(ids[-1])
        else:
            assert event["event"] == "counts", event
    return ids


async def open_stream(
    session: aiohttp.ClientSession, port: int, settings: Settings, last_id: int | None = None
) -> aiohttp.ClientResponse:
    headers = {} if last_id is None else {"Last-Event-ID": str(last_id)}
    response = await session.get(
        f"http://127.0.0.1:{port}/inbox/stream",
        params={"user": USER, "hash": proof(settings, USER)},
        headers=headers,
    )
    assert response.status == 200
    if last_id is None:
        first = await read_event(response)
        assert first is not None
        assert first["event"] == "counts"
    return response


def holder(response: aiohttp.ClientResponse, port: int, processes: list[int]) -> int:
    """The web process that holds the server side of ``response``'s connection."""
    assert response.connection is not None
    assert response.connection.transport is not None
    client_port = response.connection.transport.get_extra_info("sockname")[1]
    wanted = f"0100007F:{port:04X}", f"0100007F:{client_port:04X}"
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1], fields[2]) == wanted:
            inode = fields[9]
    assert inode, "the server side of a stream is not in /proc/net/tcp"
    for pid in processes:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no web process holds the stream's connection")


async def test_a_killed_web_process_ends_its_streams_and_a_replay_misses_nothing(
    forewarn: Forewarn,
    env: dict[str, str],
    settings: Settings,
    sessions: Sessions,
    redis: Redis,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stderr = tmp_path / "web.stderr"
    parent, port = await two_serving(forewarn, env | {"FOREWARN_SECRET_KEY": SECRET}, stderr)
    children = web_processes_started_by(parent)
    assert len(children) == 2
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        held: dict[int, list[aiohttp.ClientResponse]] = {pid: [] for pid in children}
        while min(len(streams) for streams in held.values()) < 2:
            assert sum(len(s) for s in held.values()) < MAX_STREAMS, "streams on one process"
            stream = await open_stream(session, port, settings)
            held[holder(stream, port, children)].append(stream)
        victim, survivor = children
        every = held[victim] + held[survivor]

        [first] = await deliver(sessions, redis, USER, "before")
        for stream in every:
            assert await messages(stream, 1) == [first]

        load = Load(port)
        stop = asyncio.Event()
        clients = asyncio.create_task(load.run(stop))
        async with asyncio.timeout(START_TIMEOUT):
            while load.answered < 20:  # noqa: ASYNC110  (the clients count)
                await asyncio.sleep(0.01)
        os.kill(victim, signal.SIGKILL)
        for stream in held[victim]:
            assert await read_event(stream) is None  # it ends, not hangs

        # Published while the dead process's streams are away, in two sends.
        missed = await deliver(sessions, redis, USER, *(f"m{n}" for n in range(3)))
        missed += await deliver(sessions, redis, USER, "m3", "m4")
        for stream in held[survivor]:
            assert await messages(stream, 5) == missed

        _newcomer, existed, served = await replaced(parent, children, stderr)
        back = [await open_stream(session, port, settings, last_id=first) for _ in held[victim]]
        for stream in back:
            assert await messages(stream, 5) == missed
        # And live again from there, once each, on whichever process they reached.
        [after] = await deliver(sessions, redis, USER, "after")
        for stream in back + held[survivor]:
            event = await read_event(stream)
            while event is not None and event["event"] == "counts":
                event = await read_event(stream)
            assert event is not None
            assert event["event"] == "message", event
            assert json.loads(event["data"])["id"] == after
        stop.set()
        await clients
        for stream in back + held[survivor]:
            stream.close()

    with capsys.disabled():
        print(
            f"\nSIGKILL with {len(every)} streams open ({len(held[victim])} on the victim): "
            f"replaced in {existed:.2f} s, serving in {served:.2f} s; "
            f"{load.answered} requests answered, {load.refused} refused, {load.failed} failed"
        )
    assert load.refused == 0
    os.kill(parent, signal.SIGTERM)
    await refusing(port)
