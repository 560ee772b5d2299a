"""Links follow the address ``forewarn run`` and ``forewarn web`` really serve.

In development with no ``FOREWARN_PUBLIC_URL``, the links in messages, the API
docs' server and the ``/api/v2`` page URL name the host and port served; a set
public URL always wins.
"""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config import Settings
from forewarn.serving import base_url, following
from tests.forewarn.command import (
    START_TIMEOUT,
    Forewarn,
    environment,
    free_port,
    read_banner,
    wait_until_healthy,
)

LINK = re.compile(r"https?://[^\s<>\"')]+")
PUBLIC = "https://status.example.test"


async def get_json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url) as response:
        assert response.status == 200, url
        document: dict[str, Any] = await response.json()
    return document


async def outbox(session: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    """The dev outbox once the worker inside ``forewarn run`` has put the demo's messages in."""
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            messages: list[dict[str, Any]] = (
                await get_json(session, f"{base}/dev/outbox.json?limit=500")
            )["data"]
            if messages:
                return messages
            await asyncio.sleep(0.2)


async def test_run_on_a_chosen_port_links_to_that_port_everywhere(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    stderr = tmp_path / "run.stderr"
    process = await forewarn.start("run", "--demo", "--port", str(port), env=env, stderr=stderr)

    banner = await read_banner(process, stderr)

    base = f"http://127.0.0.1:{port}"
    assert banner["status page"] == f"{base}/"
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
        spec = await get_json(session, f"{base}/api/v1/openapi.json")
        summary = await get_json(session, f"{base}/api/v2/summary.json")
        messages = await outbox(session, base)
        async with session.get(f"{base}/api/v1/docs") as docs:
            page = await docs.text()
    assert spec["servers"] == [{"url": base}]
    assert summary["page"]["url"] == base
    assert base in page
    for message in messages:
        links = LINK.findall(message["body"])
        # A text links the page (the full update); email carries the manage link too. A
        # text about one customer's order has no link: the public page does not show it.
        about_an_order = message["channel"] == "sms" and "ORD-" in message["body"]
        kept = f"{base}/" if message["channel"] == "sms" else f"{base}/manage/"
        assert kept in message["body"] or about_an_order, message["body"]
        assert all(link.startswith(f"{base}/") for link in links), links
        if message["html"]:
            assert all(link.startswith(f"{base}/") for link in LINK.findall(message["html"]))


async def test_web_on_port_0_names_the_port_the_system_gave_it(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    process = await forewarn.start("web", "--port", "0", env=env, stderr=tmp_path / "web.stderr")
    assert process.stdout is not None
    async with asyncio.timeout(START_TIMEOUT):
        line = (await process.stdout.readline()).decode()
    found = re.fullmatch(r"status page: (http://127\.0\.0\.1:(\d+))/\n", line)
    assert found, line
    base, port = found.group(1), int(found.group(2))
    assert port != 0

    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
        spec = await get_json(session, f"{base}/api/v1/openapi.json")
        status = await get_json(session, f"{base}/api/v2/status.json")
    assert spec["servers"] == [{"url": base}]
    assert status["page"]["url"] == base


async def test_a_set_public_url_wins_over_the_port_served(
    forewarn: Forewarn, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    stderr = tmp_path / "run.stderr"
    process = await forewarn.start(
        "run",
        "--demo",
        "--port",
        str(port),
        env=env | {"FOREWARN_PUBLIC_URL": PUBLIC},
        stderr=stderr,
    )

    banner = await read_banner(process, stderr)

    base = f"http://127.0.0.1:{port}"
    assert banner["status page"] == f"{base}/"  # where this machine reaches it
    async with aiohttp.ClientSession() as session:
        await wait_until_healthy(session, base)
        spec = await get_json(session, f"{base}/api/v1/openapi.json")
        summary = await get_json(session, f"{base}/api/v2/summary.json")
        messages = await outbox(session, base)
    assert spec["servers"] == [{"url": PUBLIC}]
    assert summary["page"]["url"] == PUBLIC
    assert all(
        f"{PUBLIC}/" + ("" if message["channel"] == "sms" else "manage/") in message["body"]
        for message in messages
        # a text about one customer's order has no link (the page does not show it)
        if not (message["channel"] == "sms" and "ORD-" in message["body"])
    )
    assert not any(base in message["body"] for message in messages)


async def test_a_port_in_use_is_one_line_and_creates_nothing(
    forewarn: Forewarn, tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = await forewarn.run("run", "--demo", "--port", str(port), env=environment())

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"forewarn: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert list(forewarn.cwd.iterdir()) == []


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8090"),
        ("0.0.0.0", "http://127.0.0.1:8090"),  # noqa: S104  (the wildcard, recognised)
        ("", "http://127.0.0.1:8090"),
        ("::", "http://localhost:8090"),
        ("::1", "http://[::1]:8090"),
        ("status.internal", "http://status.internal:8090"),
    ],
)
def test_a_wildcard_host_gives_links_a_browser_here_can_open(host: str, url: str) -> None:
    assert base_url(host, 8090) == url


def test_production_links_never_follow_the_local_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOREWARN_PUBLIC_URL", raising=False)
    production = Settings(_env_file=None, mode="production")
    development = Settings(_env_file=None)

    assert following(production, "http://127.0.0.1:8090") is production
    assert str(following(development, "http://127.0.0.1:8090").public_url).rstrip("/") == (
        "http://127.0.0.1:8090"
    )
