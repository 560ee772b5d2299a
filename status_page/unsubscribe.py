"""``/unsubscribe/{token}``: the link in every email, and RFC 8058 one-click POSTs.

No CSRF token here: mail clients POST the one-click form without cookies, and the
signed token in the path is the only credential that matters. A confirmation
email's link withdraws the pending sign-up instead ("it was not me").
"""

from __future__ import annotations

import logging

from aiohttp import web

from notifier import links, signup, subscribers
from notifier.db import utcnow
from status_page import keys

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/unsubscribe/{token}", confirm_page)
    app.router.add_post("/unsubscribe/{token}", unsubscribe)


def _target(request: web.Request) -> tuple[str, str] | None:
    secret = request.app[keys.SETTINGS].secret_key.get_secret_value()
    payload = links.verify(secret, "unsubscribe", request.match_info["token"])
    if payload is None or payload.count(":") != 1:
        return None
    customer_id, channel = payload.split(":")
    return customer_id, channel


def _pending_signup(request: web.Request) -> str | None:
    secret = request.app[keys.SETTINGS].secret_key.get_secret_value()
    return links.verify(secret, "cancel-signup", request.match_info["token"])


def _page(request: web.Request, state: str, status: int = 200) -> web.Response:
    template = request.app[keys.TEMPLATES].environment().get_template("unsubscribe.html")
    html = template.render(here=request.rel_url, state=state)
    return web.Response(
        text=html, content_type="text/html", status=status, headers={"Cache-Control": "no-store"}
    )


async def confirm_page(request: web.Request) -> web.Response:
    # GET never changes anything: mail scanners follow links.
    if _target(request) is None and _pending_signup(request) is None:
        return _page(request, "invalid", 404)
    return _page(request, "confirm")


async def unsubscribe(request: web.Request) -> web.Response:
    target = _target(request)
    if target is None:
        signup_id = _pending_signup(request)
        if signup_id is None:
            return _page(request, "invalid", 404)
        async with request.app[keys.SESSIONS]() as session, session.begin():
            await signup.cancel(session, signup_id)
        log.info("a pending sign-up was withdrawn")
        return _page(request, "done")
    customer_id, channel = target
    async with request.app[keys.SESSIONS]() as session, session.begin():
        await subscribers.revoke(session, customer_id, channel, now=utcnow())
    log.info("a customer unsubscribed from %s", channel)
    return _page(request, "done")
