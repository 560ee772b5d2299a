"""The live inbox stream across gaps: replay past 100, read state in every tab, a Redis
restart, a stalled reader (``status_page/inbox_stream.py``, ``status_page/live.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from config import Settings
from status_page import create_app, keys
from tests.conftest import Client, make_settings
from tests.inapp import deliver, inapp_deliveries, send
from tests.status_page.test_inbox import (
    WAIT,
    Sessions,
    as_user,
    next_event,
    open_stream,
    proof,
)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def data(event: dict[str, str]) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(event["data"])
    return loaded


async def replay(client: Client, settings: Settings, user_id: str, last_id: int) -> ClientResponse:
    response = await client.get(
        "/inbox/stream",
        params={"user": user_id, "hash": proof(settings, user_id)},
        headers={"Last-Event-ID": str(last_id)},
    )
    assert response.status == 200
    return response


async def test_a_reconnect_gets_every_missed_message_even_past_a_hundred(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    first, *missed = await deliver(sessions, redis, "user-1", *(f"m{n}" for n in range(151)))
    response = await replay(client, settings, "user-1", first)
    events = [await next_event(response) for _ in range(150)]
    assert [e["event"] for e in events] == ["message"] * 150
    assert [data(e)["id"] for e in events] == missed
    assert [int(e["id"]) for e in events] == missed  # the cursor moves with each
    counts = await next_event(response)
    assert (counts["event"], data(counts), counts["id"]) == (
        "counts",
        {"unread": 151, "unseen": 151, "total": 151},
        str(missed[-1]),
    )
    response.close()


async def test_a_stream_opened_without_last_event_id_starts_from_the_newest(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    *_, newest = await deliver(sessions, redis, "user-1", "one", "two")
    response = await client.get(
        "/inbox/stream", params={"user": "user-1", "hash": proof(settings, "user-1")}
    )
    counts = await next_event(response)
    assert (counts["event"], counts["id"], data(counts)) == (
        "counts",
        str(newest),
        {"unread": 2, "unseen": 2, "total": 2},
    )
    [three] = await deliver(sessions, redis, "user-1", "three")
    event = await next_event(response)
    assert (event["event"], event["id"], data(event)["title"]) == ("message", str(three), "three")
    response.close()


async def test_marking_read_in_one_tab_updates_the_counts_of_every_tab(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    web_a = await aiohttp_client(create_app(settings))
    web_b = await aiohttp_client(create_app(settings))
    tab_a = await open_stream(web_a, settings, "user-1")
    tab_b = await open_stream(web_b, settings, "user-1")
    other_user = await open_stream(web_b, settings, "user-2")
    b_sessions, b_redis = web_b.app[keys.SESSIONS], web_b.app[keys.QUEUE]
    one, _two = await deliver(b_sessions, b_redis, "user-1", "one", "two")
    [theirs] = await deliver(b_sessions, b_redis, "user-2", "theirs")
    for tab in (tab_a, tab_b):
        assert [data(await next_event(tab))["title"] for _ in range(2)] == ["one", "two"]
    assert data(await next_event(other_user))["id"] == theirs

    headers = as_user(settings, "user-1")
    assert (await web_a.post(f"/api/v1/inbox/{one}/read", headers=headers)).status == 200
    for tab in (tab_a, tab_b):
        event = await next_event(tab)
        # Reading one also marks it seen; neither is archived.
        assert (event["event"], data(event)) == (
            "counts",
            {"unread": 1, "unseen": 1, "total": 2},
        )
    assert (await web_b.post("/api/v1/inbox/read-all", headers=headers)).status == 200
    for tab in (tab_a, tab_b):
        event = await next_event(tab)
        assert (event["event"], data(event)) == (
            "counts",
            {"unread": 0, "unseen": 0, "total": 2},
        )
    # Another user's read state is not this user's: user-2's next event is its own.
    [later] = await deliver(b_sessions, b_redis, "user-2", "later")
    assert data(await next_event(other_user))["id"] == later
    for stream in (tab_a, tab_b, other_user):
        stream.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def redis_server(port: int, folder: Path) -> asyncio.subprocess.Process:
    """A real redis-server of our own on ``port``, answering PING when this returns."""
    process = await asyncio.create_subprocess_exec(
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
        stdout=asyncio.subprocess.DEVNULL,
    )
    probe = Redis(host="127.0.0.1", port=port)
    try:
        async with asyncio.timeout(WAIT):
            while True:
                try:
                    await probe.ping()
                    return process
                except RedisConnectionError:
                    await asyncio.sleep(0.05)
    finally:
        await probe.aclose()


async def test_after_a_redis_restart_every_open_stream_resyncs_and_gets_the_next_message(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    server = await redis_server(port, tmp_path)
    settings = make_settings(database_url, f"redis://127.0.0.1:{port}/0")
    try:
        webs = [await aiohttp_client(create_app(settings)) for _ in range(2)]
        users = [f"user-{n}" for n in range(4)]
        # Two web processes, each with a stream of every user: 8 streams.
        streams = [(user, await open_stream(web, settings, user)) for web in webs for user in users]
        server.terminate()
        await server.wait()
        server = await redis_server(port, tmp_path)
        # Published at once: before or after the web processes subscribe again.
        publisher = Redis(host="127.0.0.1", port=port)
        db = webs[0].app[keys.SESSIONS]
        sent = {u: await deliver(db, publisher, u, "after") for u in users}
        # A later one: what a stream sends up to it tells whether "after" came twice.
        for user in users:
            sent[user] += await deliver(db, publisher, user, "end")
        await publisher.aclose()
        for user, stream in streams:
            events = [await next_event(stream)]
            while data(events[-1]).get("title") != "end":
                events.append(await next_event(stream))
            kinds = [e["event"] for e in events]
            assert kinds.count("resync") == 1, kinds
            assert data(events[kinds.index("resync")]) == {"reason": "redis"}
            messages = [data(e)["id"] for e in events if e["event"] == "message"]
            assert messages == sent[user], kinds  # each exactly once, live or replayed
            stream.close()
    finally:
        server.terminate()
        await server.wait()


async def stalled_stream(port: int, settings: Settings, user_id: str) -> socket.socket:
    """A stream opened by a client that then reads nothing, with a small receive window."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    request = (
        f"GET /inbox/stream?user={user_id}&hash={proof(settings, user_id)} HTTP/1.0\r\n"
        "Host: 127.0.0.1\r\n\r\n"
    )
    await asyncio.get_running_loop().sock_sendall(sock, request.encode())
    return sock


def parse_events(text: str) -> list[dict[str, str]]:
    """The events in complete blocks of a text/event-stream body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if fields:
            events.append(fields)
    return events


async def test_a_stalled_stream_warns_once_and_catches_up_when_it_reads_again(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    sessions: Sessions,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="status_page")
    web = await aiohttp_client(create_app(settings))
    assert web.port is not None
    sock = await stalled_stream(web.port, settings, "user-1")
    fine = await open_stream(web, settings, "user-1")

    def behind() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "fell" in r.getMessage()]

    ids: list[int] = []
    got: list[dict[str, str]] = []  # what the stream that reads gets

    last: list[int] = []  # the id to read up to, once known

    def read_all() -> bool:
        return bool(got and last and data(got[-1]).get("id") == last[0])

    async def read_fine() -> None:
        while not read_all():
            got.append(await next_event(fine))

    reader = asyncio.create_task(read_fine())
    long = "x" * 480  # about 1 KB an event: the socket buffers (megabytes) fill sooner
    async with asyncio.timeout(120):
        while not behind():
            # Fewer than a queue's worth at once: the stream that reads keeps up.
            titles = (f"{len(ids) + n} {long}" for n in range(50))
            ids += await deliver(sessions, redis, "user-1", *titles)
    ids += await deliver(sessions, redis, "user-1", "after it fell behind")
    # Now it reads again: everything, each once, in order, after a resync.
    loop = asyncio.get_running_loop()
    raw = b""
    started = b""
    events: list[dict[str, str]] = []

    def caught_up() -> bool:
        kinds = [e.get("event") for e in events]
        last = [json.loads(e["data"])["id"] for e in events if e.get("event") == "message"][-1:]
        return "resync" in kinds and last == ids[-1:] and kinds[-1] == "counts"

    async with asyncio.timeout(WAIT * 3):
        while not caught_up():
            chunk = await loop.sock_recv(sock, 1 << 20)
            assert chunk
            raw += chunk
            if not started:
                head, started, raw = raw.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.0 200"), head
            complete, _, raw = raw.rpartition(b"\r\n\r\n")  # the last may be half read
            events += parse_events(complete.decode())
    sock.close()
    messages = [json.loads(e["data"])["id"] for e in events if e.get("event") == "message"]
    assert messages == ids
    resyncs = [json.loads(e["data"]) for e in events if e.get("event") == "resync"]
    assert resyncs == [{"reason": "slow"}]
    # The stream that reads kept up and got each once, in order, with no resync.
    last.append(ids[-1])
    if read_all():
        reader.cancel()  # it waits for an event that is not coming
    else:
        await asyncio.wait_for(reader, WAIT)
    assert [(e["event"], data(e)["id"]) for e in got] == [("message", i) for i in ids]
    assert len(behind()) == 1
    assert "user-1" not in behind()[0].getMessage()
    assert [r for r in caplog.records if "caught up" in r.getMessage()]
    fine.close()


async def test_a_message_whose_live_event_was_lost_comes_before_the_next_one(
    client: Client, settings: Settings, sessions: Sessions, redis: Redis
) -> None:
    stream = await open_stream(client, settings, "user-1")
    [lost_delivery] = await inapp_deliveries(sessions, "user-1", 1)
    nowhere = Redis(host="127.0.0.1", port=free_port())  # stored, then the publish fails
    with pytest.raises(RedisConnectionError):
        await send(sessions, nowhere, "user-1", [(lost_delivery, "lost")])
    await nowhere.aclose()
    [after] = await deliver(sessions, redis, "user-1", "after")
    # Its event names "lost" as its predecessor: the stream reads the inbox first.
    events = [await next_event(stream) for _ in range(2)]
    assert [(e["event"], data(e)["title"]) for e in events] == [
        ("message", "lost"),
        ("message", "after"),
    ]
    assert events[1]["id"] == str(after)
    [later] = await deliver(sessions, redis, "user-1", "later")
    assert data(await next_event(stream))["id"] == later  # and nothing twice
    stream.close()
