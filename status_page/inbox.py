"""The in-app inbox for the host application's front end.

``/api/v1/inbox`` (list, mark read, mark all read) is called by the host
application's own pages from their own origin, so CORS is open; no cookie is
ever used: the caller proves the user id with ``X-Forewarn-User-Hash`` (the hex
HMAC-SHA256 of it keyed by the in-app secret, as Novu's subscriberHash).
``/inbox/stream`` pushes new messages as Server-Sent Events; EventSource cannot
send headers, so the same proof comes as the query parameters ``user`` and ``hash``.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_sse import sse_response
from pydantic import BaseModel, ValidationError

from notifier import inbox
from notifier.care import inbox_prompts, ratings
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.schemas.inbox import InboxQuery, InboxRatingIn
from notifier.tables import InboxMessage
from status_page import inbox_stream, keys, live
from status_page.api.errors import ApiError, body_field, field_errors, json_body
from status_page.api.models.inbox import (
    AllMarkedRead,
    InboxMessageOut,
    InboxPage,
    InboxRatingOut,
    MarkedRead,
)

USER_HEADER = "X-Forewarn-User"
HASH_HEADER = "X-Forewarn-User-Hash"
API_PATH = "/api/v1/inbox"
STREAM_PATH = "/inbox/stream"
MAX_ID = 2**63 - 1
# A comment line this often keeps proxies from closing an idle stream and finds gone clients.
HEARTBEAT_SECONDS = 15.0
_CHALLENGE = {"WWW-Authenticate": 'Forewarn-User-Hash realm="inbox"'}
_OPEN = {"Access-Control-Allow-Origin": "*"}
_PREFLIGHT = {  # the origin comes from ``cors``, as on every answer here
    "Access-Control-Allow-Methods": "GET, POST",
    # Content-Type: a JSON body (the rating) is not a CORS-safelisted request.
    "Access-Control-Allow-Headers": f"{USER_HEADER}, {HASH_HEADER}, Content-Type",
    "Access-Control-Max-Age": "86400",
}


def add_routes(app: web.Application) -> None:
    """The inbox API (list, mark one read, mark all read, answer a rating prompt; CORS
    preflights) and the SSE stream."""
    app.router.add_get(API_PATH, list_messages)
    app.router.add_post(f"{API_PATH}/read-all", read_all)
    app.router.add_post(API_PATH + r"/{message_id:\d+}/read", read_one)
    app.router.add_post(API_PATH + r"/{message_id:\d+}/rating", rate_one)
    for path in (
        API_PATH,
        f"{API_PATH}/read-all",
        API_PATH + r"/{message_id:\d+}/read",
        API_PATH + r"/{message_id:\d+}/rating",
    ):
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
    """The CORS preflight answer (204): the methods and the two user headers, cached a day."""
    return web.Response(status=204, headers=_PREFLIGHT)


def _proven(request: web.Request, user_id: str, user_hash: str, how: str) -> str:
    secret = request.app[keys.SETTINGS].secret_key.get_secret_value()
    if not inbox.authentic(secret, user_id, user_hash):
        raise ApiError(401, f"send the user id and its hash as {how}", headers=_CHALLENGE)
    return user_id


def _user(request: web.Request) -> str:
    headers = request.headers
    how = f"{USER_HEADER} and {HASH_HEADER} headers"
    return _proven(request, headers.get(USER_HEADER, ""), headers.get(HASH_HEADER, ""), how)


def _json(model: BaseModel) -> web.Response:
    return web.Response(text=model.model_dump_json(), content_type="application/json")


async def list_messages(request: web.Request) -> web.Response:
    """GET: a page of the user's messages, newest first, with the unread count (``InboxPage``).

    401 without a valid user hash; 422 for a bad ``limit`` or ``cursor``.
    """
    user_id = _user(request)
    try:
        query = InboxQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError(422, "the request query is not valid", field_errors(exc, "query")) from None
    async with request.app[keys.SESSIONS]() as session:
        rows, next_cursor = await inbox.page(
            session, user_id, limit=query.limit, cursor=query.cursor
        )
        unread = await inbox.unread_count(session, user_id)
        prompts = await inbox_prompts.items(session, [row.id for row in rows])
    data = [_out(row, prompts.get(row.id)) for row in rows]
    return _json(InboxPage(data=data, next_cursor=next_cursor, unread_count=unread))


def _out(message: InboxMessage, prompt: inbox_prompts.PromptItem | None) -> InboxMessageOut:
    out = InboxMessageOut.model_validate(message)
    if prompt is not None:
        labels = {str(score): text for score, text in prompt.labels.items()}
        out.rating = InboxRatingOut.model_validate({**asdict(prompt), "labels": labels})
    return out


def _message_id(request: web.Request) -> int:
    message_id = int(request.match_info["message_id"])
    if message_id > MAX_ID:
        raise NotFound("inbox message", str(message_id))
    return message_id


async def read_one(request: web.Request) -> web.Response:
    """POST: mark one message read (``MarkedRead``); 404 for another user's or an unknown id."""
    user_id = _user(request)
    message_id = _message_id(request)
    async with request.app[keys.SESSIONS]() as session, session.begin():
        message = await inbox.mark_read(session, user_id, message_id, now=utcnow())
        unread = await inbox.unread_count(session, user_id)
        prompt = (await inbox_prompts.items(session, [message_id])).get(message_id)
        out = MarkedRead(data=_out(message, prompt), unread_count=unread)
    await live.publish_counts(request.app[keys.QUEUE], user_id, {"unread": unread})
    return _json(out)


async def rate_one(request: web.Request) -> web.Response:
    """POST: answer the rating prompt a message carries (``InboxRatingIn``: score, optional
    comment; recorded with channel inapp), and mark it read; ``MarkedRead`` with the
    message's ``rating`` as it now is.

    401 without a valid user hash; 400 for a body that is not JSON; 422 naming ``score``
    (off the prompt's scale) or ``comment``; 404 for another user's or an unknown
    message, or one that asks for no rating; 409 once the prompt has expired.
    """
    user_id = _user(request)
    message_id = _message_id(request)
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
        unread = await inbox.unread_count(session, user_id)
        out = MarkedRead(data=_out(message, prompt), unread_count=unread)
    await live.publish_counts(request.app[keys.QUEUE], user_id, {"unread": unread})
    return _json(out)


async def read_all(request: web.Request) -> web.Response:
    """POST: mark every message of the user read (``AllMarkedRead``)."""
    user_id = _user(request)
    async with request.app[keys.SESSIONS]() as session, session.begin():
        marked = await inbox.mark_all_read(session, user_id, now=utcnow())
    await live.publish_counts(request.app[keys.QUEUE], user_id, {"unread": 0})
    return _json(AllMarkedRead(marked=marked, unread_count=0))


def _last_event_id(request: web.Request) -> int | None:
    # EventSource sends the id of the last event it got when it reconnects.
    raw = request.headers.get("Last-Event-ID", "")
    return int(raw) if raw.isdecimal() and int(raw) <= MAX_ID else None


async def stream(request: web.Request) -> web.StreamResponse:
    """GET: the user's new messages and read-state changes as Server-Sent Events
    (``message``, ``counts``, ``resync``: ``status_page.inbox_stream``).

    Proven by the ``user`` and ``hash`` query parameters (401 otherwise). With
    ``Last-Event-ID`` every message stored after it comes first. Open until the client
    goes; a comment every ``HEARTBEAT_SECONDS``.
    """
    user_id = _proven(
        request,
        request.query.get("user", ""),
        request.query.get("hash", ""),
        "user and hash query parameters",
    )
    sessions = request.app[keys.SESSIONS]
    last_id = _last_event_id(request)
    if last_id is None:
        last_id = await inbox_stream.newest(sessions, user_id)
    # Listen, then replay above last_id: what commits meanwhile is in one or both (sent once).
    with request.app[keys.INBOXES].listen(user_id) as listener:
        async with sse_response(request, headers=_OPEN, ping_interval=HEARTBEAT_SECONDS) as sse:
            await inbox_stream.relay(sse, listener, sessions, last_id)
    return sse
