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
from notifier.tables import Customer
from status_page import forms, html, keys

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    """``/unsubscribe/{token}``: GET a confirmation page, POST (the button, or an RFC 8058
    one-click request) to unsubscribe."""
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


def _page(
    request: web.Request, state: str, status: int = 200, *, lang: str | None = None
) -> web.Response:
    response = html.render(request, "unsubscribe.html", status=status, lang=lang, state=state)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _locale(request: web.Request, customer_id: str) -> str | None:
    async with request.app[keys.SESSIONS]() as session:
        customer = await session.get(Customer, customer_id)
    return customer.locale if customer else None


async def confirm_page(request: web.Request) -> web.Response:
    """GET: a page asking to confirm (in the customer's language); 404 for a bad token."""
    # GET never changes anything: mail scanners follow links.
    target = _target(request)
    if target is None and _pending_signup(request) is None:
        return _page(request, "invalid", 404)
    lang = await _locale(request, target[0]) if target else None
    return _page(request, "confirm", lang=lang)


async def unsubscribe(request: web.Request) -> web.Response:
    """POST: withdraw the token's consent for its channel (or cancel a pending sign-up);
    404 for a bad token. Answers with a page, so a one-click POST and a button both work."""
    # The one-click body ("List-Unsubscribe=One-Click") says nothing we need, but a
    # body no one could have sent is refused like every other form's.
    await forms.read_form(request)
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
    return _page(request, "done", lang=await _locale(request, customer_id))
