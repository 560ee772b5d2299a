"""The OpenAPI 3.1 document, generated from the declared operations and their models."""

from __future__ import annotations

import importlib.util
from collections import Counter
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from notifier.api_keys import SCOPES
from status_page import keys
from status_page.api.errors import PROBLEM_JSON, ProblemDetails
from status_page.api.examples import EXAMPLES
from status_page.api.routing import IDEMPOTENCY_KEY, Operation
from status_page.api.v1 import API

_REF = "#/components/schemas/{model}"


def build(operations: list[Operation], *, title: str, server: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-ready dict) of ``operations``: their models as
    ``components/schemas``, every error as RFC 9457 ``ProblemDetails``, and links."""
    models: set[tuple[type[BaseModel], Any]] = {(ProblemDetails, "serialization")}
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
        entry["operationId"] = _operation_id(op, names)
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    for source, links in _links(operations, names).items():
        for status, response in paths[source.path][source.method.lower()]["responses"].items():
            if status.startswith("2"):
                response["links"] = links
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: Forewarn ops API",
            "version": "1",
            "description": (
                "Incidents, maintenance, delivery problems, components, customers, "
                "follow-ups of low ratings and customers' contacts with support. "
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
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{"bearer": [op.scope]}],
        "x-required-scope": op.scope,
        **({"description": op.description} if op.description else {}),
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": op.path_rule(name).pattern},
            }
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
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": IDEMPOTENCY_KEY.pattern,
                },
                "description": "Retry safely: the same key and request replay the first "
                "response (with Idempotent-Replayed: true); the same key with another request "
                "is a 422. Printable ASCII, no space at either end; remembered per API key.",
            }
        )
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {
                "application/json": {
                    "schema": refs[(op.body, "validation")],
                    **({"example": EXAMPLES[op.body]} if op.body in EXAMPLES else {}),
                }
            },
        }
    responses: dict[str, Any] = {}
    for status in (op.status, *op.extra_statuses):
        if status in _ERRORS:
            continue
        entry: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if op.response is not None and status != 204:
            entry["content"] = {
                "application/json": {"schema": refs[(op.response, "serialization")]}
            }
            if op.csv is not None:
                entry["content"]["text/csv"] = {"schema": {"type": "string"}}
        responses[str(status)] = entry
    problem = {PROBLEM_JSON: {"schema": refs[(ProblemDetails, "serialization")]}}
    for status in _errors(op):
        responses[str(status)] = {"description": _ERRORS[status], "content": problem}
    out["responses"] = responses
    return out


_ERRORS = {
    400: "The body is not JSON (RFC 7493 I-JSON), or the Idempotency-Key breaks its rule.",
    401: "No API key, or an unknown or revoked one.",
    403: "The API key lacks the operation's scope.",
    404: "Nothing has the id in the path, or a field names a record that does not exist "
    "(`errors` names the field).",
    409: "The record's state does not allow this (e.g. a resolved incident).",
    413: "The body is larger than the server accepts.",
    422: "A field, query parameter or path parameter breaks its schema, or the "
    "Idempotency-Key was used with another request; `errors` names each field.",
}


def _errors(op: Operation) -> list[int]:
    """The error statuses an operation can answer, each from a rule in the routing or domain."""
    body = op.body is not None
    statuses = [401, 403]
    if body or op.method == "POST":
        statuses.append(400)
    # A body may name records (components, a group, customers); a search names none,
    # a preview may (extra_statuses says so).
    if op.path_params or (body and not op.reads_only) or 404 in op.extra_statuses:
        statuses.append(404)
    if 409 in op.extra_statuses:
        statuses.append(409)
    if body:
        statuses.append(413)
    if body or op.query is not None or op.method in ("POST", "PUT"):
        statuses.append(422)
    return sorted(statuses)


def _operation_id(op: Operation, names: Counter[str]) -> str:
    if names[op.handler.__name__] > 1:  # e.g. resolve: incidents_resolve, problems_resolve
        return f"{op.handler.__module__.rpartition('.')[2]}_{op.handler.__name__}"
    return op.handler.__name__


def _links(operations: list[Operation], names: Counter[str]) -> dict[Operation, dict[str, Any]]:
    """OpenAPI links from each operation that makes a record to the operations on it.

    POST /components (201) gives its id to /components/{component_id}...; PUT
    /customers/{external_id} passes its own path parameter on.
    """
    links: dict[Operation, dict[str, Any]] = {}
    for source in operations:
        if source.method == "POST" and source.status == 201 and not source.path_params:
            item = source.path + "/{"
        elif source.method == "PUT":
            item = source.path
        else:
            continue
        for target in operations:
            if target is source or not target.path.startswith(item):
                continue
            if source.method == "PUT":
                name = source.path_params[-1]
                value = f"$request.path.{name}"
            else:
                name, value = target.path_params[0], "$response.body#/id"
            links.setdefault(source, {})[_operation_id(target, names)] = {
                "operationId": _operation_id(target, names),
                "parameters": {name: value},
            }
    return links


def for_app(app: web.Application) -> dict[str, Any]:
    """The document of ``/api/v1``, titled after the page and served from its public URL."""
    settings = app[keys.SETTINGS]
    return build(
        API.operations, title=settings.page_name, server=str(settings.public_url).rstrip("/")
    )


async def document(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: the document built at start-up."""
    return web.json_response(request.app[keys.OPENAPI_DOCUMENT])


DOCS_PATH = "/api/v1/docs"
# status_page.INBOX_DOCUMENT (imported, it would be a cycle: it uses status_page.api).
INBOX_DOCUMENT = "/api/v1/inbox/openapi.json"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# The reference page's own rules: its scripts and styles come from this server only (no
# CDN), Swagger UI sets inline styles and data: images, and "Try it out" calls our API.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def _swagger_ui_static() -> Path:
    """Swagger UI's built files, as the swagger-ui-py package ships them (not imported:
    only its files are used)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: make install")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


# Every file the page loads, by the name it is served under: nothing else is served.
ASSETS = {
    name: _swagger_ui_static() / name
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")
} | {"api_docs.js": Path(__file__).parents[1] / "static" / "api_docs.js"}


def add_routes(app: web.Application) -> None:
    """The document, the reference page and its assets."""
    app.router.add_get("/api/v1/openapi.json", document)
    app.router.add_get(DOCS_PATH, docs_page)
    app.router.add_get(ASSETS_PATH + "/{name}", asset)


async def docs_page(request: web.Request) -> web.Response:
    """GET /api/v1/docs: Swagger UI on the ops API's document and the inbox API's."""
    spec = request.app[keys.OPENAPI_DOCUMENT]
    template = request.app[keys.TEMPLATES].environment().get_template("api_docs.html")
    specs = [
        {"name": "Ops API", "url": "/api/v1/openapi.json"},
        {"name": "In-app inbox API", "url": INBOX_DOCUMENT},
    ]
    text = template.render(
        spec=spec,
        specs=specs,
        assets=ASSETS_PATH,
        inbox_document=INBOX_DOCUMENT,
        here=request.rel_url,
    )
    return web.Response(
        text=text,
        content_type="text/html",
        headers={"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff"},
    )


async def asset(request: web.Request) -> web.FileResponse:
    """GET /api/v1/docs/assets/{name}: one of ``ASSETS``; 404 for any other name."""
    path = ASSETS.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
