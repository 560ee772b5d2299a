"""Real nginx running the shipped ``deploy/nginx/forewarn.conf`` on 127.0.0.1.

Only the file's site-specific lines are rewritten (``listen``, ``root``, the upstream's
``server``); the rest runs as shipped, inside a minimal main configuration of our own
(``daemon off``, pid, error log and temporary files in a folder of the test's). Used by
``tests/deploy`` and ``bench/page.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "deploy" / "nginx" / "forewarn.conf"
NGINX = Path("/usr/sbin/nginx")  # Debian's nginx-light or nginx package
MISSING = f"{NGINX} is missing: apt-get install -y nginx-light (make test installs it)"

# The lines of the shipped file that name its site: each must be there exactly once.
LISTEN = "    listen 80;\n"
ROOT_LINE = "    root /srv/forewarn/current;\n"
UPSTREAM = "    server web:8080 resolve;\n"

_MAIN = """\
daemon off;
{user}worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/forewarn.conf;
}}
"""


def site_config(port: int, snapshot: Path, upstream: str) -> str:
    """The shipped file serving ``snapshot`` (the folder holding ``current``) on
    127.0.0.1:``port`` with the web processes at ``upstream`` (``host:port``)."""
    text = SHIPPED.read_text()
    for line, replacement in (
        (LISTEN, f"    listen 127.0.0.1:{port};\n"),
        (ROOT_LINE, f"    root {snapshot}/current;\n"),
        (UPSTREAM, f"    server {upstream};\n"),
    ):
        assert text.count(line) == 1, f"{SHIPPED} no longer has {line.strip()!r} once"
        text = text.replace(line, replacement)
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Nginx:
    """One nginx master (and its workers) in ``folder``; ``url`` is where it listens."""

    def __init__(self, folder: Path, snapshot: Path, upstream: str, workers: int = 1) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "forewarn.conf").write_text(site_config(self.port, snapshot, upstream))
        # As root, nginx's workers would drop to `nobody`, who cannot read a test's
        # private temporary folders; as anyone else there is no switch to make.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = _MAIN.format(user=user, workers=workers, folder=folder)
        (folder / "nginx.conf").write_text(main)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text() if path.exists() else ""

    async def start(self) -> None:
        """Start nginx and return once it accepts connections; raises RuntimeError
        with its error log if it exits instead."""
        self._process = subprocess.Popen(  # noqa: S603, ASYNC220  (our fixed arguments; starts at once)
            [
                *(str(NGINX), "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")),
                *("-e", str(self.folder / "error.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        async with asyncio.timeout(30):
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"nginx exited {self._process.returncode}:\n{self.error_log}"
                    )
                try:
                    _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def stop(self) -> None:
        """A fast shutdown (SIGTERM), waited for."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            while self._process.poll() is None:  # noqa: ASYNC110  (a child process, no event)
                await asyncio.sleep(0.02)
