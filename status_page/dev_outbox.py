"""``/dev/outbox``: the messages the dev outbox kept (development mode only)."""

from __future__ import annotations

from aiohttp import web

from notifier.delivery.channels import outbox as dev_outbox
from status_page import keys


def add_routes(app: web.Application) -> None:
    """``/dev/outbox`` (HTML) and ``/dev/outbox.json``, outside production only."""
    if app[keys.SETTINGS].production:
        return  # real providers only: the outbox does not exist in production
    app.router.add_get("/dev/outbox", page)
    app.router.add_get("/dev/outbox.json", document)


def _limit(request: web.Request) -> int:
    try:
        return max(1, min(500, int(request.query.get("limit", "100"))))
    except ValueError:
        return 100


async def document(request: web.Request) -> web.Response:
    """The newest messages as JSON ``{"data": [...]}``, newest first.

    Query: ``limit`` 1..500 (default 100, also for a non-number), ``channel`` to keep
    one channel's.
    """
    async with request.app[keys.SESSIONS]() as session:
        rows = await dev_outbox.latest(
            session, limit=_limit(request), channel=request.query.get("channel")
        )
    return web.json_response(
        {
            "data": [
                {
                    "id": m.id,
                    "delivery_id": m.delivery_id,
                    "channel": m.channel,
                    "to": m.to,
                    "subject": m.subject,
                    "body": m.body,
                    "html": m.html,
                    "created_at": m.created_at.isoformat(),
                }
                for m in rows
            ]
        },
        headers={"Cache-Control": "no-store"},
    )


async def page(request: web.Request) -> web.Response:
    """The newest messages (``limit`` as for the JSON) as an HTML page."""
    async with request.app[keys.SESSIONS]() as session:
        rows = await dev_outbox.latest(session, limit=_limit(request))
    template = request.app[keys.TEMPLATES].environment().get_template("dev_outbox.html")
    html = template.render(here=request.rel_url, messages=rows)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})
