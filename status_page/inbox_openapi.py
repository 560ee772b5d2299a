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

from notifier.schemas.inbox import InboxQuery, InboxRatingIn
from status_page import inbox, inbox_stream, keys
from status_page.api.errors import PROBLEM_JSON, ProblemDetails
from status_page.api.models.inbox import AllMarkedRead, InboxPage, MarkedRead

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
    401: f"No {inbox.USER_HEADER} or {inbox.HASH_HEADER} header, or a hash that does not "
    "prove the user id.",
    404: "No message of this user has this id, or it asks for no rating.",
    413: "The body is larger than the server accepts.",
    409: "The rating prompt has expired: answers are no longer taken.",
    422: "A field or query parameter breaks its schema, or a score is off the prompt's "
    "scale; `errors` names each field.",
}


def add_routes(app: web.Application) -> None:
    """GET ``/api/v1/inbox/openapi.json``."""
    app[keys.INBOX_OPENAPI_DOCUMENT] = build(
        title=app[keys.SETTINGS].page_name,
        server=str(app[keys.SETTINGS].public_url).rstrip("/"),
    )
    app.router.add_get(PATH, document)


def build(*, title: str, server: str) -> dict[str, Any]:
    """The document (a JSON-ready dict): list, mark read, mark all read, answer a rating."""
    models: list[tuple[type[BaseModel], Any]] = [
        (ProblemDetails, "serialization"),
        (InboxQuery, "validation"),
        (InboxRatingIn, "validation"),
        (InboxPage, "serialization"),
        (MarkedRead, "serialization"),
        (AllMarkedRead, "serialization"),
    ]
    refs, schema = models_json_schema(models, ref_template=_REF)
    defs = schema.get("$defs", {})

    def ok(model: type[BaseModel]) -> dict[str, Any]:
        return {
            "description": HTTPStatus.OK.phrase,
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }

    def errors(*statuses: int) -> dict[str, Any]:
        problem = {PROBLEM_JSON: {"schema": refs[(ProblemDetails, "serialization")]}}
        return {str(s): {"description": _ERRORS[s], "content": problem} for s in statuses}

    query = defs[refs[(InboxQuery, "validation")]["$ref"].rpartition("/")[2]]
    paths = {
        inbox.API_PATH: {
            "get": {
                "operationId": "list_messages",
                "summary": "List the user's messages, newest first, with the unread count",
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": prop}
                    for name, prop in query["properties"].items()
                ],
                "responses": {"200": ok(InboxPage), **errors(401, 422)},
            }
        },
        f"{inbox.API_PATH}/read-all": {
            "post": {
                "operationId": "read_all",
                "summary": "Mark every message of the user read",
                "responses": {"200": ok(AllMarkedRead), **errors(401)},
            }
        },
        f"{inbox.API_PATH}/{{message_id}}/read": {
            "post": {
                "operationId": "read_one",
                "summary": "Mark one message read",
                "parameters": [_MESSAGE_ID],
                "responses": {"200": ok(MarkedRead), **errors(401, 404)},
            }
        },
        f"{inbox.API_PATH}/{{message_id}}/rating": {
            "post": {
                "operationId": "rate_one",
                "summary": "Answer the rating prompt a message carries (and mark it read)",
                "description": "Only for a message whose `rating` is not null. The score "
                "must be on the prompt's scale (`rating.min_score` to `max_score`); "
                "answering again changes the score (and the comment, if given). "
                "Answers are recorded with channel `inapp`.",
                "parameters": [_MESSAGE_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": refs[(InboxRatingIn, "validation")],
                            "example": {"score": 4, "comment": "Thanks for the heads-up."},
                        }
                    },
                },
                "responses": {"200": ok(MarkedRead), **errors(400, 401, 404, 409, 413, 422)},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: Forewarn in-app inbox API",
            "version": "1",
            "description": "Called by the host application's own pages (CORS open, no "
            f"cookies). Every request proves its user with {inbox.USER_HEADER} (the user "
            f"id) and {inbox.HASH_HEADER} (the hex HMAC-SHA256 of it keyed by the in-app "
            "secret). Every error is application/problem+json (RFC 9457).\n\n"
            + inbox_stream.DOCUMENTED,
        },
        "servers": [{"url": server}],
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "user": {"type": "apiKey", "in": "header", "name": inbox.USER_HEADER},
                "userHash": {"type": "apiKey", "in": "header", "name": inbox.HASH_HEADER},
            },
        },
        "security": [{"user": [], "userHash": []}],
        "paths": paths,
    }


async def document(request: web.Request) -> web.Response:
    """GET /api/v1/inbox/openapi.json: the document built at start-up."""
    return web.json_response(request.app[keys.INBOX_OPENAPI_DOCUMENT])
