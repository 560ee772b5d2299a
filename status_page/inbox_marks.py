"""The inbox's marks and counts: one message seen, unseen, read, unread, archived or
unarchived (``POST /api/v1/inbox/{id}/<action>``), several at once (``/batch``), every
one (``/seen-all``, ``/read-all``, ``/archive-all``), and ``GET /api/v1/inbox/counts``.

Every one is idempotent, scoped to the proven user (``inbox_http.user``: 401
otherwise) and answers with the user's counts, which the host's badge shows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict

from aiohttp import web
from pydantic import ValidationError

from notifier import inbox
from notifier.care import inbox_prompts
from notifier.db import utcnow
from notifier.inbox import Action
from notifier.schemas.inbox import InboxBatchIn
from status_page import inbox_http, keys, live
from status_page.api.errors import ApiError, field_errors, json_body
from status_page.api.models.inbox import AllMarked, BatchMarked, InboxCounts, Marked
from status_page.inbox_http import API_PATH

Handler = Callable[[web.Request], Awaitable[web.Response]]
ONE = API_PATH + r"/{message_id:\d+}/"
COUNTS_PATH = f"{API_PATH}/counts"
BATCH_PATH = f"{API_PATH}/batch"


def add_routes(app: web.Application) -> list[str]:
    """Add the routes; the paths added (for their CORS preflights)."""
    paths = []
    for action in Action:
        app.router.add_post(ONE + action, _one(action))
        paths.append(ONE + action)
    for action in inbox.ALL_ACTIONS:
        app.router.add_post(f"{API_PATH}/{action}-all", _all(action))
        paths.append(f"{API_PATH}/{action}-all")
    app.router.add_post(BATCH_PATH, batch)
    app.router.add_get(COUNTS_PATH, counts)
    return [*paths, BATCH_PATH, COUNTS_PATH]


def _one(action: Action) -> Handler:
    async def mark_one(request: web.Request) -> web.Response:
        # POST: ``action`` on one message; ``Marked``. 404 for another user's or an unknown id.
        user_id = inbox_http.user(request)
        message_id = inbox_http.message_id(request)
        async with request.app[keys.SESSIONS]() as session, session.begin():
            [message] = await inbox.mark(session, user_id, [message_id], action, now=utcnow())
            found = await inbox.counts(session, user_id)
            prompt = (await inbox_prompts.items(session, [message_id])).get(message_id)
            out = Marked(
                data=inbox_http.message_out(message, prompt),
                unread_count=found.unread,
                counts=InboxCounts.model_validate(found),
            )
        await live.publish_counts(request.app[keys.QUEUE], user_id, asdict(found))
        return inbox_http.json_response(out)

    mark_one.__name__ = f"{action}_one"
    return mark_one


def _all(action: Action) -> Handler:
    async def mark_all(request: web.Request) -> web.Response:
        # POST: ``action`` on every message of the user; ``AllMarked``.
        user_id = inbox_http.user(request)
        async with request.app[keys.SESSIONS]() as session, session.begin():
            marked = await inbox.mark_all(session, user_id, action, now=utcnow())
            found = await inbox.counts(session, user_id)
        out = AllMarked(
            marked=marked, unread_count=found.unread, counts=InboxCounts.model_validate(found)
        )
        await live.publish_counts(request.app[keys.QUEUE], user_id, asdict(found))
        return inbox_http.json_response(out)

    mark_all.__name__ = f"{action}_all"
    return mark_all


async def batch(request: web.Request) -> web.Response:
    """POST: one action on up to 100 of the user's messages (``InboxBatchIn``);
    ``BatchMarked``. 400 for a body that is not JSON; 422 naming ``ids`` or ``action``;
    404 (and nothing changed) when any id is another user's or unknown."""
    user_id = inbox_http.user(request)
    raw = await request.read()
    json_body(raw)  # 400 unless it is I-JSON
    try:
        asked = InboxBatchIn.model_validate_json(raw or b"{}", strict=True)
    except ValidationError as exc:
        raise ApiError(422, "the request body is not valid", field_errors(exc, "body")) from None
    async with request.app[keys.SESSIONS]() as session, session.begin():
        messages = await inbox.mark(session, user_id, asked.ids, asked.action, now=utcnow())
        found = await inbox.counts(session, user_id)
        prompts = await inbox_prompts.items(session, [m.id for m in messages])
        out = BatchMarked(
            data=[inbox_http.message_out(m, prompts.get(m.id)) for m in messages],
            counts=InboxCounts.model_validate(found),
        )
    await live.publish_counts(request.app[keys.QUEUE], user_id, asdict(found))
    return inbox_http.json_response(out)


async def counts(request: web.Request) -> web.Response:
    """GET: the user's counts (``InboxCounts``: unread, unseen, total; archived in none)."""
    user_id = inbox_http.user(request)
    async with request.app[keys.SESSIONS]() as session:
        found = await inbox.counts(session, user_id)
    return inbox_http.json_response(InboxCounts.model_validate(found))
