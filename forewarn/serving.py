"""Where ``forewarn run`` and ``forewarn web`` listen, and the links that follow from it."""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from aiohttp import web
from pydantic import AnyHttpUrl

from config import Settings
from status_page import create_app, keys, live

# aiohttp's own default for TCPSite.
BACKLOG = 128
# After the drain, what aiohttp's own shutdown gives a request still being handled (one
# over its time, or one that came on a kept-alive connection at the last instant).
STRAGGLER_SECONDS = 1.0


class CannotListen(Exception):
    """The address cannot be listened on (in use, not ours, unknown host); one line."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``; port 0 takes one the system picks.

    Bound before the application is built, so that its links can name the port
    actually served. ``::`` accepts IPv4 as well where the system allows it (dual
    stack). Raises ``CannotListen``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server(
            (host, port),
            family=family,
            backlog=BACKLOG,
            dualstack_ipv6=host == "::" and socket.has_dualstack_ipv6(),
        )
    except OSError as exc:
        # create_server appends "(while attempting to bind on address ...)": we name it once.
        reason = (exc.strerror or str(exc)).split(" (while attempting", 1)[0]
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}") from None


def base_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the server: never the wildcard it binds to.

    ``0.0.0.0`` (and the empty host) become ``127.0.0.1``; ``::`` becomes ``localhost``,
    which browsers resolve to both ``::1`` and ``127.0.0.1``.
    """
    if host in ("", "0.0.0.0"):  # noqa: S104  (recognising it, not binding to it)
        host = "127.0.0.1"
    elif host == "::":
        host = "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def served_url(sock: socket.socket, host: str) -> str:
    """``base_url`` for the port ``sock`` really listens on."""
    port: int = sock.getsockname()[1]
    return base_url(host, port)


def following(settings: Settings, served: str) -> Settings:
    """The settings whose links (messages, API docs, ``/api/v2``) point at ``served``.

    Only in development and only when ``FOREWARN_PUBLIC_URL`` is not set (in the
    environment or ``.env``): a set public URL always wins, and production links
    never name a local address.
    """
    if settings.production or "public_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_url": AnyHttpUrl(served)})


async def start_web(settings: Settings, sock: socket.socket) -> web.AppRunner:
    """The status page application, serving on ``sock`` until ``stop_web``."""
    app = create_app(settings)  # its outermost middleware counts requests in flight
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=STRAGGLER_SECONDS)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=BACKLOG).start()
    return runner


async def stop_web(runner: web.AppRunner, seconds: float) -> None:
    """Close the socket (new connections are refused), end the live streams (their clients
    reconnect to another process), let the requests in flight finish for up to
    ``seconds``, then clean up.

    The requests are waited for before ``runner.cleanup()``: aiohttp's shutdown first
    closes every connection, and a closing connection ignores what it receives, so a
    request whose body was still arriving would wait for it until cut at the timeout
    (aio-libs/aiohttp#2298).
    """
    in_flight = runner.app[keys.IN_FLIGHT]
    in_flight.stopping = True
    for site in list(runner.sites):
        await site.stop()
    await live.end_streams(runner.app)
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await in_flight.idle()
    await runner.cleanup()
