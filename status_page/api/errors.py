"""RFC 9457 problem details under ``/api``, a plain page elsewhere."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, Field, ValidationError

from notifier.errors import Conflict, InvalidField, NotFound, UnknownReference
from status_page import html, keys

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
Location = Literal["body", "query", "path", "header"]


class FieldError(BaseModel):
    """One failing field in a problem's ``errors`` (an extension member RFC 9457
    section 3.2 allows): where it was, its dotted name, a JSON Pointer to it, and why."""

    location: Location
    field: str = Field(description="Dotted path of the field, e.g. components[0].status.")
    pointer: str = Field(description="JSON Pointer into the request body or query.")
    detail: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem details object, the body of every error under ``/api``
    (``application/problem+json``); ``errors`` lists the failing fields, if any."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[FieldError] = []


class ApiError(Exception):
    """An error response: raise it from anywhere under /api."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


def field_errors(exc: ValidationError, location: Location) -> list[FieldError]:
    """Each error pydantic found, as a ``FieldError`` at ``location``."""
    return [
        FieldError(
            location=location,
            field=_dotted(err["loc"]),
            pointer=_pointer(err["loc"]),
            detail=err["msg"],
        )
        for err in exc.errors(include_url=False)
    ]


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pointer(loc: tuple[int | str, ...]) -> str:
    """RFC 6901: "" is the whole document; "~" and "/" inside a name are escaped."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def body_field(field: str, detail: str) -> FieldError:
    """A body field named as the domain names it, e.g. ``components[0].component_id``."""
    pointer = "/" + field.replace("[", "/").replace("]", "").replace(".", "/")
    return FieldError(location="body", field=field, pointer=pointer, detail=detail)


def problem_response(
    request: web.Request,
    status: int,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A problem+json response (RFC 9457) with ``status``, its HTTP phrase as the title,
    ``detail``, the request path as ``instance`` and the failing fields."""
    body = ProblemDetails(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.path,
        errors=list(errors),
    )
    return web.Response(
        status=status,
        text=body.model_dump_json(),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def _as_api_error(exc: Exception) -> ApiError | None:
    match exc:
        case ApiError():
            return exc
        case NotFound():
            return ApiError(404, str(exc))
        case Conflict():
            errors = [body_field(exc.field, str(exc))] if exc.field else []
            return ApiError(409, str(exc), errors)
        case UnknownReference():
            detail = "the request body names a record that does not exist"
            return ApiError(404, detail, [body_field(exc.field, exc.detail)])
        case InvalidField():
            return ApiError(
                422, "the request body is not valid", [body_field(exc.field, exc.detail)]
            )
        case web.HTTPException() if exc.status >= 400:
            return ApiError(exc.status, exc.reason, headers=dict(exc.headers))
    return None


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as problem+json under ``/api/`` and a plain page elsewhere; an
    unexpected exception is logged (by route template, never the path) and is a 500."""
    try:
        return await handler(request)
    except Exception as exc:
        if isinstance(exc, web.HTTPException) and exc.status < 400:
            raise  # a redirect, not an error
        error = _as_api_error(exc)
        if error is None:
            log.exception("unhandled error on %s %s", request.method, _route(request))
            error = ApiError(500, "something went wrong on our side; it has been logged")
        headers = {k: v for k, v in error.headers.items() if k.lower() != "content-type"}
        if request.path.startswith("/api/"):
            return problem_response(request, error.status, error.detail, error.errors, headers)
        return _html_error(request, error, headers)


def _route(request: web.Request) -> str:
    """The matched route's template (``/manage/{token}``), never the path itself: paths
    carry tokens, and a business's customer ids may be email addresses."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "an unrouted path"


def _html_error(request: web.Request, error: ApiError, headers: dict[str, str]) -> web.Response:
    phrase = HTTPStatus(error.status).phrase
    styled = error.status in (404, 405) or error.status >= 500
    if styled and keys.TEMPLATES in request.app:
        # The page's own error pages, in the visitor's language: an unknown address its
        # 404, a method the path lacks (405, with Allow) and our own failure (5xx) theirs.
        name = "not_found.html" if error.status == 404 else "error.html"
        try:
            response = html.render(
                request, name, status=error.status, code=error.status, phrase=phrase
            )
        except Exception:
            log.exception("the %d page failed to render; a plain one was sent", error.status)
        else:
            response.headers.update(headers)
            if error.status >= 500:  # a passing failure: no one may keep it
                response.headers["Cache-Control"] = "no-store"
            return response
    return web.Response(
        status=error.status,
        text=f"<!doctype html><title>{phrase}</title><h1>{phrase}</h1>",
        content_type="text/html",
        headers=headers,
    )


def json_body(raw: bytes) -> Any:
    """The parsed body; no body at all is an empty object (POST .../resolve needs nothing more).

    Raises ApiError 400 unless the body is I-JSON (RFC 7493): UTF-8, no NaN or Infinity
    (not JSON at all, RFC 8259), no unpaired surrogate escape (no text can hold one).
    """
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
    if not _well_formed(value):
        raise ApiError(400, "the request body is not valid JSON: an unpaired surrogate (RFC 7493)")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _well_formed(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")
