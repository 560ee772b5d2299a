"""``/dev/outbox``: the messages the dev outbox kept (development mode only)."""

from __future__ import annotations

from aiohttp import web

from notifier.delivery.channels import outbox as dev_outbox
from status_page import keys

# An email's HTML part is someone else's markup as far as this site goes: it runs nothing
# and loads nothing but images, in a sandbox (an opaque origin, so it reaches no cookie or
# page of ours); its links may open in a new tab, as they would from a mail client.
EMAIL_CSP = (
    "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


def add_routes(app: web.Application) -> None:
    """``/dev/outbox`` (HTML), ``/dev/outbox.json`` and ``/dev/outbox/{id}.html`` (an
    email's HTML part), outside production only."""
    if app[keys.SETTINGS].production:
        return  # real providers only: the outbox does not exist in production
    app.router.add_get("/dev/outbox", page)
    app.router.add_get("/dev/outbox.json", document)
    # At most 18 digits: any such id fits the BIGINT column.
    app.router.add_get(r"/dev/outbox/{id:\d{1,18}}.html", email_html)


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


async def email_html(request: web.Request) -> web.Response:
    """Message ``id``'s HTML part, exactly as the recipient's mail client gets it, under
    ``EMAIL_CSP``; 404 for an unknown id or a message without one (SMS, a text-only email).
    """
    async with request.app[keys.SESSIONS]() as session:
        message = await dev_outbox.message(session, int(request.match_info["id"]))
    if message is None or not message.html:
        raise web.HTTPNotFound()
    return web.Response(
        text=message.html,
        content_type="text/html",
        headers={
            "Content-Security-Policy": EMAIL_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
