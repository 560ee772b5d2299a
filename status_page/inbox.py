"""The in-app inbox for the host application's front end.

``/api/v1/inbox`` (list and filter, counts, mark seen, read or archived and back, one,
a batch or all; answer a rating prompt) is called by the host application's own pages
from their own origin, so CORS is open; no cookie is ever used: the caller proves the
user with a user token (``Authorization: Bearer``, a JWT signed with a key of the
host's, as Knock's) or with ``X-Forewarn-User`` and ``X-Forewarn-User-Hash`` (the hex
HMAC-SHA256 of the user id keyed by the in-app secret, as Novu's subscriberHash): see
``inbox_http``. ``/inbox/stream`` pushes new messages as Server-Sent Events;
EventSource cannot send headers, so the same proof comes as the query parameter
``token``, or ``user`` and ``hash``.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_sse import sse_response
from pydantic import ValidationError

from notifier import inbox, links
from notifier.care import inbox_prompts, ratings
from notifier.db import utcnow
from notifier.schemas.inbox import InboxQuery, InboxRatingIn
from status_page import inbox_http, inbox_marks, inbox_stream, keys, live
from status_page.api.errors import (
    ApiError,
    body_field,
    field_errors,
    json_body,
    problem_response,
)
from status_page.api.models.inbox import InboxCounts, InboxPage, Marked
from status_page.inbox_http import API_PATH as API_PATH
from status_page.inbox_http import HASH_HEADER as HASH_HEADER
from status_page.inbox_http import MAX_ID as MAX_ID
from status_page.inbox_http import USER_HEADER as USER_HEADER

STREAM_PATH = "/inbox/stream"
# A comment line this often keeps proxies from closing an idle stream and finds gone clients.
HEARTBEAT_SECONDS = 15.0
_OPEN = {"Access-Control-Allow-Origin": "*"}
_PREFLIGHT = {  # the origin comes from ``cors``, as on every answer here
    "Access-Control-Allow-Methods": "GET, POST",
    # Content-Type: a JSON body (the rating, a batch) is not a CORS-safelisted request.
    "Access-Control-Allow-Headers": f"Authorization, {USER_HEADER}, {HASH_HEADER}, Content-Type",
    "Access-Control-Max-Age": "86400",
}


def add_routes(app: web.Application) -> None:
    """The inbox API (list, counts, marks: ``inbox_marks``; answer a rating prompt; CORS
    preflights) and the SSE stream."""
    inbox_http.load_keys(app)
    app.router.add_get(API_PATH, list_messages)
    app.router.add_post(API_PATH + r"/{message_id:\d+}/rating", rate_one)
    paths = [API_PATH, API_PATH + r"/{message_id:\d+}/rating", *inbox_marks.add_routes(app)]
    for path in paths:
        app.router.add_route("OPTIONS", path, preflight)
    app.router.add_get(STREAM_PATH, stream)


def _ours(path: str) -> bool:
    return path in (API_PATH, STREAM_PATH) or path.startswith(API_PATH + "/")


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer on these paths, errors included, so the host page can read it.

    A middleware inside the page cache's, not a response signal: a signal runs for
    every response, the cached pages' too (7% of summary.json's rate). The event stream sends
    its headers before returning, so it sets them itself.
    """
    response = await handler(request)
    if _ours(request.path) and not response.prepared:
        response.headers.update(_OPEN)
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def preflight(request: web.Request) -> web.Response:
    """The CORS preflight answer (204): the methods and the identity headers, cached a day."""
    return web.Response(status=204, headers=_PREFLIGHT)


def _proven(request: web.Request, user_id: str, user_hash: str, how: str) -> str:
    # The stream's proof: a user token (``Authorization: Bearer`` from a fetch() client,
    # which keeps it out of URLs and logs, or ``token`` from EventSource, which cannot
    # send headers), else ``user`` and ``hash``.
    token = inbox_http.bearer(request) or request.query.get("token", "")
    return inbox_http.proven(request, user_id, user_hash, how, token=token)


async def list_messages(request: web.Request) -> web.Response:
    """GET: a page of the user's messages, newest first, with their counts and the link to
    their alert settings (``InboxPage``); ``?status=`` filters (``inbox.Status``; left
    out: every message not archived).

    401 without a valid proof of the user; 422 naming ``limit``, ``cursor`` or ``status``.
    """
    user_id = inbox_http.user(request)
    try:
        query = InboxQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError(422, "the request query is not valid", field_errors(exc, "query")) from None
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.SESSIONS]() as session:
        rows, next_cursor = await inbox.page(
            session, user_id, limit=query.limit, cursor=query.cursor, status=query.status
        )
        counts = await inbox.counts(session, user_id)
        prompts = await inbox_prompts.items(session, [row.id for row in rows])
        customer_id = await inbox.owner(session, user_id)
    manage_url = None
    if customer_id is not None:
        # Signed now, so it lasts FOREWARN_SUBSCRIBE__MANAGE_LINK_DAYS from this list.
        token = links.manage_token(settings.secret_key.get_secret_value(), customer_id, "inapp")
        manage_url = f"{str(settings.public_url).rstrip('/')}/manage/{token}"
    data = [inbox_http.message_out(row, prompts.get(row.id)) for row in rows]
    page = InboxPage(
        data=data,
        next_cursor=next_cursor,
        unread_count=counts.unread,
        counts=InboxCounts.model_validate(counts),
        manage_url=manage_url,
    )
    return inbox_http.json_response(page)


async def rate_one(request: web.Request) -> web.Response:
    """POST: answer the rating prompt a message carries (``InboxRatingIn``: score, optional
    comment; recorded with channel inapp), and mark it read; ``Marked`` with the
    message's ``rating`` as it now is.

    401 without a valid proof of the user; 400 for a body that is not JSON; 422 naming
    ``score`` (off the prompt's scale) or ``comment``; 404 for another user's or an unknown
    message, or one that asks for no rating; 409 once the prompt has expired.
    """
    user_id = inbox_http.user(request)
    message_id = inbox_http.message_id(request)
    raw = await request.read()
    json_body(raw)  # 400 unless it is I-JSON
    try:
        answer = InboxRatingIn.model_validate_json(raw or b"{}", strict=True)
    except ValidationError as exc:
        raise ApiError(422, "the request body is not valid", field_errors(exc, "body")) from None
    now = utcnow()
    async with request.app[keys.SESSIONS]() as session, session.begin():
        try:
            prompt = await inbox_prompts.answer(
                session, user_id, message_id, answer.score, comment=answer.comment, now=now
            )
        except ratings.PromptExpired:
            raise ApiError(409, "this rating prompt has expired") from None
        except ValueError as exc:
            detail = "the request body is not valid"
            raise ApiError(422, detail, [body_field("score", str(exc))]) from None
        message = await inbox.mark_read(session, user_id, message_id, now=now)
        counts = await inbox.counts(session, user_id)
        out = Marked(
            data=inbox_http.message_out(message, prompt),
            unread_count=counts.unread,
            counts=InboxCounts.model_validate(counts),
        )
    await live.publish_counts(request.app[keys.QUEUE], user_id, asdict(counts))
    return inbox_http.json_response(out)


def _last_event_id(request: web.Request) -> int | None:
    # EventSource sends the id of the last event it got when it reconnects.
    return inbox_http.as_id(request.headers.get("Last-Event-ID", ""))


async def stream(request: web.Request) -> web.StreamResponse:
    """GET: the user's new messages and read-state changes as Server-Sent Events
    (``message``, ``counts``, ``resync``: ``status_page.inbox_stream``).

    Proven by the ``user`` and ``hash`` query parameters, or a user token as
    ``Authorization: Bearer`` or in ``token`` (401 otherwise). With ``Last-Event-ID``
    every message stored after it comes first.
    Open until the client goes; a comment every ``HEARTBEAT_SECONDS``.
    """
    try:
        user_id = _proven(
            request,
            request.query.get("user", ""),
            request.query.get("hash", ""),
            "user and hash query parameters",
        )
    except ApiError as refused:
        # Outside /api/, where errors are pages: a host's fetch() reads why, as on the API.
        return problem_response(
            request, refused.status, refused.detail, refused.errors, refused.headers
        )
    last_id = _last_event_id(request)
    sessions = request.app[keys.SESSIONS]
    if last_id is None:
        last_id = await inbox_stream.newest(sessions, user_id)
    # Listen, then replay above last_id: what commits meanwhile is in one or both (sent once).
    with request.app[keys.INBOXES].listen(user_id) as listener:
        async with sse_response(request, headers=_OPEN, ping_interval=HEARTBEAT_SECONDS) as sse:
            await inbox_stream.relay(sse, listener, sessions, last_id)
    return sse
