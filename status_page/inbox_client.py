"""The in-app bell's JavaScript, served to host applications' pages (any origin).

``/inbox/forewarn-inbox.js`` (cached 5 minutes, then revalidated by ETag) and
``/inbox/forewarn-inbox.<version>.js`` (``version``: the first 12 hex digits of the
file's SHA-256; cached a year, immutable: a new release is a new URL). Both with CORS
open, since an ES module from another origin is fetched in CORS mode, and under
``/inbox/`` so nginx proxies them with the stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

FILE = Path(__file__).parent / "static" / "inbox" / "forewarn-inbox.js"
PATH = "/inbox/forewarn-inbox.js"
_COMMON = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class Client:
    """The file's bytes, read once at start-up, and what names this version of it."""

    body: bytes
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def versioned_path(self) -> str:
        """The URL path to give host pages (cached for good)."""
        return f"/inbox/forewarn-inbox.{self.version}.js"


def load() -> Client:
    """Read ``FILE``; ``OSError`` if it is missing from the package."""
    body = FILE.read_bytes()
    return Client(body, hashlib.sha256(body).hexdigest()[:12])


def add_routes(app: web.Application) -> None:
    """The two URLs of the file, read now."""
    client = load()

    async def latest(request: web.Request) -> web.Response:
        # The client as it is in this release; 304 for a matching If-None-Match.
        return _answer(client, request, "public, max-age=300")

    async def versioned(request: web.Request) -> web.Response:
        # The client under its version; 404 for another version (an older release's).
        if request.match_info["version"] != client.version:
            raise web.HTTPNotFound()
        return _answer(client, request, "public, max-age=31536000, immutable")

    app.router.add_get(PATH, latest)
    app.router.add_get(r"/inbox/forewarn-inbox.{version:[0-9a-f]{12}}.js", versioned)


def _answer(client: Client, request: web.Request, cache_control: str) -> web.Response:
    headers = {**_COMMON, "Cache-Control": cache_control, "ETag": client.etag}
    if client.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=client.body, content_type="text/javascript", charset="utf-8", headers=headers
    )
