"""What every public form shares: a CSRF token, a honeypot, and the pages they lead to.

CSRF is a signed double submit: a random value in a cookie, and its HMAC (keyed
by the secret key) in a hidden field. Another site can make a browser send the
cookie but cannot read it, so it cannot compute the field. The honeypot is a
field people never see; a bot that fills it in gets the ordinary answer and
nothing is stored or sent.

Every form is read by ``read_form``: bytes that are not text in the declared
charset, a U+FFFD (what a lenient decoder leaves for them) or a control character
other than tab and line breaks make the request a 400 page, before any handler
or the database sees them. ``middleware`` answers the same for such a path or
query string anywhere outside ``/api/`` (whose errors are problem+json).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDict, MultiDictProxy

from notifier import signing
from notifier.control_characters import undecodable
from status_page import html, keys
from status_page.api.errors import FieldError, problem_response
from status_page.inbox import STREAM_PATH

log = logging.getLogger(__name__)

COOKIE = "fw_csrf"
FIELD = "csrf_token"
HONEYPOT = "website"


def _mac(request: web.Request, value: str) -> str:
    secret = request.app[keys.SETTINGS].secret_key.get_secret_value()
    return signing.mac(secret, "csrf", value).hex()


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


class Undecodable(Exception):
    """The request held input that is not text anyone typed; ``middleware`` answers 400."""


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The posted form's text fields (urlencoded or multipart; file parts dropped: they
    have no business in these forms). Raises Undecodable for bytes invalid in the
    declared charset, an unknown charset, a malformed multipart body, or a name or
    value holding U+FFFD or a control character (tab, CR and LF allowed in values)."""
    try:
        posted = await request.post()
    except (ValueError, LookupError):  # UnicodeDecodeError is a ValueError
        raise Undecodable from None
    fields = MultiDict((k, v) for k, v in posted.items() if isinstance(v, str))
    if any(undecodable(k) or undecodable(v, multiline=True) for k, v in fields.items()):
        raise Undecodable
    return MultiDictProxy(fields)


async def checked_form(request: web.Request) -> MultiDictProxy[str] | None:
    """The posted form (see ``read_form``) if its CSRF field matches the cookie;
    None otherwise."""
    form = await read_form(request)
    cookie = request.cookies.get(COOKIE, "")
    sent = form.get(FIELD, "")
    if len(cookie) < 32:
        return None
    if not hmac.compare_digest(sent.encode(), _mac(request, cookie).encode()):
        return None
    return form


def _query_field(request: web.Request) -> FieldError:
    """The first query parameter no one could have typed, as a problem's field."""
    name = next(
        (k for k, v in request.rel_url.query.items() if undecodable(k) or undecodable(v)), ""
    )
    pointer = "/" + name.replace("~", "~0").replace("/", "~1")  # RFC 6901 section 3
    return FieldError(location="query", field=name, pointer=pointer, detail="not readable as text")


def _undecodable_url(request: web.Request) -> bool:
    query = request.rel_url.query  # percent-decoded, with U+FFFD for invalid UTF-8
    return undecodable(request.path) or any(
        undecodable(k) or undecodable(v) for k, v in query.items()
    )


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A friendly 400 for a path, query string or form no one could have typed,
    instead of a 500 from the database (PostgreSQL refuses NUL) or a stored U+FFFD."""
    if request.path.startswith("/api/"):
        return await handler(request)
    try:
        if _undecodable_url(request):
            raise Undecodable
        return await handler(request)
    except Undecodable:
        log.info("refused a request that could not be read as text")
        if request.path.startswith("/webhooks/"):
            return web.Response(status=400, text="the request could not be read as text")
        if request.path == STREAM_PATH:  # read by programs, which read problems
            detail = "the query string could not be read as text (invalid UTF-8 or a control)"
            return problem_response(request, 400, detail, [_query_field(request)])
        return notice(request, "undecodable", 400)


def honeypot_filled(form: MultiDictProxy[str]) -> bool:
    """Whether the field people never see was filled in (a bot, most likely)."""
    return bool(form.get(HONEYPOT, "").strip())


def notice(request: web.Request, kind: str, status: int) -> web.Response:
    """A friendly page for a refused request: ``kind`` picks the words."""
    return render(request, "subscribe_notice.html", status=status, kind=kind)


def forbidden(request: web.Request) -> web.Response:
    """The 403 page of a form whose CSRF field did not match its cookie."""
    return notice(request, "csrf", 403)
