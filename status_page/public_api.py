"""``/api/v2/*.json``: the Statuspage-compatible public JSON API (no auth, CORS open)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from notifier.page.statuspage_v2 import NAMES, Documents
from status_page import keys

# Short: a status widget polling every minute sees a change within seconds.
CACHE_CONTROL = "public, max-age=10"


def add_routes(app: web.Application) -> None:
    """``/api/v2/<name>`` for each of the Statuspage v2 documents (``statuspage_v2.NAMES``).

    Each answer carries an ETag (304 on a matching ``If-None-Match``), a 10-second
    ``Cache-Control`` and ``Access-Control-Allow-Origin: *``.
    """
    for name in NAMES:
        app.router.add_get(f"/api/v2/{name}", _document(name))


def _document(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        documents = Documents(request.app[keys.SETTINGS])
        async with request.app[keys.SESSIONS]() as session:
            await documents.load(session)
        body = json.dumps(documents.render(name), separators=(",", ":"), ensure_ascii=False)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        headers = {
            "ETag": etag,
            "Cache-Control": CACHE_CONTROL,
            "Access-Control-Allow-Origin": "*",
            "Vary": "Accept-Encoding",
        }
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(text=body, content_type="application/json", headers=headers)

    serve.__name__ = "v2_" + name.replace("/", "_").replace("-", "_").removesuffix(".json")
    return serve
