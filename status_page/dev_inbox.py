"""``/dev/inbox-example``: the in-app bell on a page, as a host application mounts it
(development mode only, beside the dev outbox)."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from status_page import inbox_client, inbox_http, keys

PATH = "/dev/inbox-example"
DEMO_USER = "demo-user"


def add_routes(app: web.Application) -> None:
    """The example page, outside production only."""
    if app[keys.SETTINGS].production:
        return
    client_path = inbox_client.load().versioned_path

    async def example(request: web.Request) -> web.Response:
        # GET: the bell for ``?user=`` (default ``DEMO_USER``), its hash computed here, as
        # the host's server would; ``?lang=ja`` for the Japanese labels.
        user = request.query.get("user", "")[:200] or DEMO_USER
        secret = inbox_http.inapp_secret(request.app[keys.SETTINGS]).encode()
        user_hash = hmac.new(secret, user.encode(), hashlib.sha256).hexdigest()
        locale = "ja" if request.query.get("lang") == "ja" else "en"
        template = request.app[keys.TEMPLATES].environment().get_template("dev_inbox.html")
        html = template.render(
            here=request.rel_url,
            client=client_path,
            mount={"user": user, "hash": user_hash, "locale": locale},
            user=user,
        )
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    app.router.add_get(PATH, example)
