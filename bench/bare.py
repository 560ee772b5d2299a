"""The ceiling of the stack: an aiohttp application that does nothing but return the
bytes Forewarn served, from memory, on uvloop, with N processes sharing the port.

    .venv/bin/python -m bench.bare FOLDER PORT PROCESSES

FOLDER holds ``index.html`` and ``summary.json`` (bench/page.py writes them for
nginx). Whatever Forewarn's cached responses cost beyond this is ours; whatever this
costs beyond nginx is Python's and aiohttp's.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import uvloop
from aiohttp import web


def app(folder: Path) -> web.Application:
    page = (folder / "index.html").read_bytes()
    summary = (folder / "summary.json").read_bytes()

    async def serve_page(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    async def serve_summary(request: web.Request) -> web.Response:
        return web.Response(body=summary, content_type="application/json")

    application = web.Application()
    application.router.add_get("/", serve_page)
    application.router.add_get("/api/v2/summary.json", serve_summary)
    return application


def serve(folder: Path, port: int) -> None:
    web.run_app(
        app(folder),
        host="127.0.0.1",
        port=port,
        reuse_port=True,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


def main() -> None:
    folder, port, processes = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    children = [
        multiprocessing.Process(target=serve, args=(folder, port)) for _ in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
