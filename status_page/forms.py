"""What every public form shares: a CSRF token, a honeypot, and the pages they lead to.

CSRF is a signed double submit: a random value in a cookie, and its HMAC (keyed
by the secret key) in a hidden field. Another site can make a browser send the
cookie but cannot read it, so it cannot compute the field. The honeypot is a
field people never see; a bot that fills it in gets the ordinary answer and
nothing is stored or sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from status_page import html, keys

COOKIE = "fw_csrf"
FIELD = "csrf_token"
HONEYPOT = "website"


def _mac(request: web.Request, value: str) -> str:
    secret = request.app[keys.SETTINGS].secret_key.get_secret_value()
    key = hmac.new(secret.encode(), b"forewarn:csrf", hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def render(request: web.Request, name: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page with forms: the CSRF field filled in, the cookie set if it is new, and
    nothing cached or passed on in a Referer (links to these pages carry tokens)."""
    cookie = request.cookies.get(COOKIE, "")
    fresh = len(cookie) < 32
    if fresh:
        cookie = secrets.token_urlsafe(32)
    response = html.render(
        request, name, status=status, csrf_token=_mac(request, cookie), honeypot=HONEYPOT, **context
    )
    if fresh:
        secure = request.app[keys.SETTINGS].public_url.scheme == "https"
        response.set_cookie(COOKIE, cookie, path="/", httponly=True, samesite="Lax", secure=secure)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def checked_form(request: web.Request) -> MultiDictProxy[str] | None:
    """The posted form if its CSRF field matches the cookie; None otherwise."""
    form = await request.post()
    cookie = request.cookies.get(COOKIE, "")
    sent = form.get(FIELD, "")
    if len(cookie) < 32 or not isinstance(sent, str):
        return None
    if not hmac.compare_digest(sent.encode(), _mac(request, cookie).encode()):
        return None
    # Text fields only: a file upload has no business in these forms.
    return MultiDictProxy(MultiDict((k, v) for k, v in form.items() if isinstance(v, str)))


def honeypot_filled(form: MultiDictProxy[str]) -> bool:
    return bool(form.get(HONEYPOT, "").strip())


def notice(request: web.Request, kind: str, status: int) -> web.Response:
    """A friendly page for a refused request: ``kind`` picks the words."""
    return render(request, "subscribe_notice.html", status=status, kind=kind)


def forbidden(request: web.Request) -> web.Response:
    return notice(request, "csrf", 403)
