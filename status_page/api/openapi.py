"""The OpenAPI 3.1 document, generated from the declared operations and their models."""

from __future__ import annotations

from collections import Counter
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from notifier.api_keys import SCOPES
from status_page import keys
from status_page.api.errors import PROBLEM_JSON, Problem
from status_page.api.routing import Operation
from status_page.api.v1 import API

_REF = "#/components/schemas/{model}"
DOCUMENT = web.AppKey("openapi_document", dict)


def build(operations: list[Operation], *, title: str, server: str) -> dict[str, Any]:
    models: set[tuple[type[BaseModel], Any]] = {(Problem, "serialization")}
    for op in operations:
        if op.body is not None:
            models.add((op.body, "validation"))
        if op.query is not None:
            models.add((op.query, "validation"))
        if op.response is not None:
            models.add((op.response, "serialization"))
    refs, schema = models_json_schema(
        sorted(models, key=lambda m: m[0].__name__), ref_template=_REF
    )
    defs = schema.get("$defs", {})
    names = Counter(op.handler.__name__ for op in operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry = _operation(op, refs, defs)
        if names[op.handler.__name__] > 1:  # e.g. resolve: incidents_resolve, problems_resolve
            entry["operationId"] = (
                f"{op.handler.__module__.rpartition('.')[2]}_{entry['operationId']}"
            )
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: Forewarn ops API",
            "version": "1",
            "description": (
                "Incidents, maintenance, delivery problems, components and customers. "
                "Every error is application/problem+json (RFC 9457). POSTs that change "
                "something accept an Idempotency-Key header: the same key and body replay "
                "the first response."
            ),
        },
        "servers": [{"url": server}],
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Scopes: "
                    + "; ".join(f"`{name}`: {text}" for name, text in SCOPES.items()),
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _operation(op: Operation, refs: dict[Any, Any], defs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.handler.__name__,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{"bearer": [op.scope]}],
        "x-required-scope": op.scope,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in op.path_params
        ],
    }
    if op.query is not None:
        # From the shared schemas, so that enums in a query refer to #/components/schemas.
        query_schema = defs[refs[(op.query, "validation")]["$ref"].rpartition("/")[2]]
        required = set(query_schema.get("required", []))
        for name, prop in query_schema["properties"].items():
            out["parameters"].append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if op.method == "POST" and not op.reads_only:
        out["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "Retry safely: the same key and body replay the first response.",
            }
        )
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    responses: dict[str, Any] = {}
    for status in (op.status, *op.extra_statuses):
        if status in (409,):
            continue
        entry: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if op.response is not None and status != 204:
            entry["content"] = {
                "application/json": {"schema": refs[(op.response, "serialization")]}
            }
        responses[str(status)] = entry
    problem = {PROBLEM_JSON: {"schema": refs[(Problem, "serialization")]}}
    errors = [
        401,
        403,
        *([404] if op.path_params else []),
        *([409] if 409 in op.extra_statuses else []),
    ]
    if op.body is not None or op.query is not None:
        errors.append(422)
    for status in errors:
        responses[str(status)] = {"description": HTTPStatus(status).phrase, "content": problem}
    out["responses"] = responses
    return out


def for_app(app: web.Application) -> dict[str, Any]:
    settings = app[keys.SETTINGS]
    return build(
        API.operations, title=settings.page_name, server=str(settings.public_url).rstrip("/")
    )


async def document(request: web.Request) -> web.Response:
    return web.json_response(request.app[DOCUMENT])


async def docs_page(request: web.Request) -> web.Response:
    spec = request.app[DOCUMENT]
    template = request.app[keys.TEMPLATES].environment().get_template("api_docs.html")
    return web.Response(
        text=template.render(spec=spec, here=request.rel_url), content_type="text/html"
    )
