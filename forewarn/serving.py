"""Where ``forewarn run`` and ``forewarn web`` listen, and the links that follow from it."""

from __future__ import annotations

import socket

from aiohttp import web
from pydantic import AnyHttpUrl

from config import Settings
from status_page import create_app

# aiohttp's own default for TCPSite.
BACKLOG = 128


class CannotListen(Exception):
    """The address cannot be listened on (in use, not ours, unknown host); one line."""


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
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
            reuse_port=reuse_port,
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
    """The status page application, serving on ``sock`` until the runner is cleaned up.

    Cleaning up closes the socket (new connections are refused), ends the live streams
    (their clients reconnect to another process), and lets requests in flight finish for
    up to ``web_shutdown_seconds``.
    """
    runner = web.AppRunner(
        create_app(settings), access_log=None, shutdown_timeout=settings.web_shutdown_seconds
    )
    await runner.setup()
    await web.SockSite(runner, sock, backlog=BACKLOG).start()
    return runner
