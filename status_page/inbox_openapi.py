"""The in-app inbox API's own OpenAPI 3.1 document (``/api/v1/inbox/openapi.json``).

The inbox is called by the host application's pages with a user's proof, not by ops
with an API key, so it is a document of its own: the same models the handlers parse
and answer with (``status_page.inbox``), the two identity headers as its security.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from notifier.inbox import ALL_ACTIONS, Action
from notifier.schemas.inbox import InboxBatchIn, InboxQuery, InboxRatingIn
from status_page import inbox, inbox_stream, keys
from status_page.api.errors import PROBLEM_JSON, ProblemDetails
from status_page.api.models.inbox import AllMarked, BatchMarked, InboxCounts, InboxPage, Marked

PATH = f"{inbox.API_PATH}/openapi.json"
_REF = "#/components/schemas/{model}"
_MESSAGE_ID = {
    "name": "message_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": inbox.MAX_ID},
}
_ERRORS = {
    400: "The body is not JSON (RFC 7493 I-JSON).",
    401: "No proof of the user, or a wrong one: a user token that is not valid (the detail "
    f"says why: expired, no exp, unknown kid, wrong alg, bad signature), or no {inbox.USER_HEADER} "
    f"or {inbox.HASH_HEADER} header, or a hash that does not prove the user id.",
    404: "No message of this user has this id, or it asks for no rating.",
    413: "The body is larger than the server accepts.",
    409: "The rating prompt has expired: answers are no longer taken.",
    422: "A field or query parameter breaks its schema, or a score is off the prompt's "
    "scale; `errors` names each field.",
}
_COUNTS = {"unread": 2, "unseen": 1, "total": 5}
_MESSAGE = {
    "id": 42,
    "title": "Checkout errors",
    "body": "Hi Aiko, Acme status: we are working on a problem: Checkout errors "
    "(investigating). https://status.example.com/incidents/abc",
    "url": "https://status.example.com/incidents/abc",
    "created_at": "2026-11-30T09:15:00Z",
    "seen_at": "2026-11-30T09:16:02Z",
    "read_at": "2026-11-30T09:16:05Z",
    "archived_at": None,
    "rating": None,
}
_WHAT = {
    Action.seen: "Mark one message seen (the feed showed it)",
    Action.unseen: "Mark one message unseen (and so unread)",
    Action.read: "Mark one message read (and so seen)",
    Action.unread: "Mark one message unread",
    Action.archive: "Archive one message: out of the default list and of every count",
    Action.unarchive: "Put an archived message back in the feed",
}


def add_routes(app: web.Application) -> None:
    """GET ``/api/v1/inbox/openapi.json``."""
    app[keys.INBOX_OPENAPI_DOCUMENT] = build(
        title=app[keys.SETTINGS].page_name,
        server=str(app[keys.SETTINGS].public_url).rstrip("/"),
    )
    app.router.add_get(PATH, document)


def build(*, title: str, server: str) -> dict[str, Any]:
    """The document (a JSON-ready dict): list, counts, marks (one, a batch, all), answer a
    rating."""
    models: list[tuple[type[BaseModel], Any]] = [
        (ProblemDetails, "serialization"),
        (InboxQuery, "validation"),
        (InboxRatingIn, "validation"),
        (InboxBatchIn, "validation"),
        (InboxPage, "serialization"),
        (InboxCounts, "serialization"),
        (Marked, "serialization"),
        (AllMarked, "serialization"),
        (BatchMarked, "serialization"),
    ]
    refs, schema = models_json_schema(models, ref_template=_REF)
    defs = schema.get("$defs", {})

    def ok(model: type[BaseModel], example: Any) -> dict[str, Any]:
        media = {"schema": refs[(model, "serialization")], "example": example}
        return {"description": HTTPStatus.OK.phrase, "content": {"application/json": media}}

    def errors(*statuses: int) -> dict[str, Any]:
        problem = {PROBLEM_JSON: {"schema": refs[(ProblemDetails, "serialization")]}}
        return {str(s): {"description": _ERRORS[s], "content": problem} for s in statuses}

    def body(model: type[BaseModel], example: Any) -> dict[str, Any]:
        media = {"schema": refs[(model, "validation")], "example": example}
        return {"required": True, "content": {"application/json": media}}

    marked = {"data": _MESSAGE, "unread_count": 2, "counts": _COUNTS}
    query = defs[refs[(InboxQuery, "validation")]["$ref"].rpartition("/")[2]]
    paths: dict[str, Any] = {
        inbox.API_PATH: {
            "get": {
                "operationId": "list_messages",
                "summary": "List the user's messages, newest first, with their counts",
                "description": "`status` filters: `unread`, `read`, `unseen` or `seen` (of "
                "the messages not archived), `archived`, or `all`; left out, every message "
                "not archived. `manage_url` is the user's alert settings page.",
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": prop}
                    for name, prop in query["properties"].items()
                ],
                "responses": {
                    "200": ok(
                        InboxPage,
                        {
                            "data": [_MESSAGE],
                            "next_cursor": None,
                            "unread_count": 2,
                            "counts": _COUNTS,
                            "manage_url": "https://status.example.com/manage/eyJ...",
                        },
                    ),
                    **errors(401, 422),
                },
            }
        },
        f"{inbox.API_PATH}/counts": {
            "get": {
                "operationId": "get_counts",
                "summary": "How many of the user's messages are unread, unseen, and in all "
                "(archived ones in none)",
                "responses": {"200": ok(InboxCounts, _COUNTS), **errors(401)},
            }
        },
        f"{inbox.API_PATH}/batch": {
            "post": {
                "operationId": "batch",
                "summary": "One action on up to 100 of the user's messages",
                "description": "All or nothing: if any id is not one of the user's "
                "messages, 404 and nothing changes.",
                "requestBody": body(InboxBatchIn, {"ids": [42, 41], "action": "archive"}),
                "responses": {
                    "200": ok(BatchMarked, {"data": [_MESSAGE], "counts": _COUNTS}),
                    **errors(400, 401, 404, 413, 422),
                },
            }
        },
    }
    for action in Action:
        paths[f"{inbox.API_PATH}/{{message_id}}/{action}"] = {
            "post": {
                "operationId": f"{action}_one",
                "summary": _WHAT[action],
                "description": "Idempotent: again changes nothing (a mark keeps its first time).",
                "parameters": [_MESSAGE_ID],
                "responses": {"200": ok(Marked, marked), **errors(401, 404)},
            }
        }
    for action in ALL_ACTIONS:
        paths[f"{inbox.API_PATH}/{action}-all"] = {
            "post": {
                "operationId": f"{action}_all",
                "summary": f"Mark every message of the user {action}"
                if action != Action.archive
                else "Archive every message of the user",
                "responses": {
                    "200": ok(AllMarked, {"marked": 3, "unread_count": 0, "counts": _COUNTS}),
                    **errors(401),
                },
            }
        }
    paths[f"{inbox.API_PATH}/{{message_id}}/rating"] = {
        "post": {
            "operationId": "rate_one",
            "summary": "Answer the rating prompt a message carries (and mark it read)",
            "description": "Only for a message whose `rating` is not null. The score "
            "must be on the prompt's scale (`rating.min_score` to `max_score`); "
            "answering again changes the score (and the comment, if given). "
            "Answers are recorded with channel `inapp`.",
            "parameters": [_MESSAGE_ID],
            "requestBody": body(InboxRatingIn, {"score": 4, "comment": "Thanks for the heads-up."}),
            "responses": {"200": ok(Marked, marked), **errors(400, 401, 404, 409, 413, 422)},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: Forewarn in-app inbox API",
            "version": "1",
            "description": "Called by the host application's own pages (CORS open, no "
            "cookies). Every request proves its user, either with a user token "
            "(`Authorization: Bearer`: a JWT the host signs with a key of its own, with "
            "`sub` the user id, `exp`, and `kid` naming the key) or with "
            f"{inbox.USER_HEADER} (the user id) and {inbox.HASH_HEADER} (the hex "
            "HMAC-SHA256 of it keyed by the in-app secret). Every error is "
            "application/problem+json (RFC 9457).\n\n" + inbox_stream.DOCUMENTED,
        },
        "servers": [{"url": server}],
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "userToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "user": {"type": "apiKey", "in": "header", "name": inbox.USER_HEADER},
                "userHash": {"type": "apiKey", "in": "header", "name": inbox.HASH_HEADER},
            },
        },
        "security": [{"userToken": []}, {"user": [], "userHash": []}],
        "paths": paths,
    }


async def document(request: web.Request) -> web.Response:
    """GET /api/v1/inbox/openapi.json: the document built at start-up."""
    return web.json_response(request.app[keys.INBOX_OPENAPI_DOCUMENT])
