"""Declared ops API operations: auth, parsing, idempotency and audit in one place.

Each handler is declared with its scope and models; the same declarations
produce the OpenAPI document, so the document cannot drift from the code.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import api_keys, audit, idempotency, notifications
from notifier.db import utcnow
from notifier.events import Event
from notifier.page import generation as page_generation
from notifier.scales import Subject
from notifier.schemas.fields import EXTERNAL_ID, Matching
from notifier.statuses import Locale, TemplatePart
from notifier.tables import ApiKey
from status_page import enqueue, keys
from status_page.api.errors import ApiError, FieldError, Location, field_errors, json_body

Handler = Callable[..., Awaitable[BaseModel | None]]
# Printable ASCII, 1 to 255 characters, no space at either end (HTTP trims those).
IDEMPOTENCY_KEY = Matching(
    r"[!-~](?:[ -~]{0,253}[!-~])?",
    "Idempotency-Key must be 1 to 255 printable ASCII characters",
)
# Ids are 12 lowercase letters and digits (notifier.db.new_id); the column holds 16.
RECORD_ID = Matching(r"[0-9a-z]{1,16}", "no record has this id")
# The rule of each path parameter not named a record id.
PATH_RULES = {
    "external_id": EXTERNAL_ID,
    # A message template's (/templates/{event}/{locale}/{part}): one of the enum's values.
    **{
        name: Matching("|".join(e.value for e in enum), f"use one of {', '.join(enum)}")
        for name, enum in (
            ("event", Event),
            ("locale", Locale),
            ("part", TemplatePart),
            ("subject_type", Subject),
        )
    },
}
# Writes that never show on the public page, so do not invalidate its cache (a
# customer sync can be thousands of writes).
OFF_PAGE_TAGS = frozenset({"customers", "templates", "follow-ups", "contacts"})
# Writes about one incident or maintenance (the path's id, or the created record's).
RECORD_TAGS = frozenset({"incidents", "maintenance"})


@dataclass
class Context:
    """What a handler gets: one session (one transaction), the caller's key, the time."""

    session: AsyncSession
    key: ApiKey
    now: datetime
    request: web.Request
    # A handler may override the declared status (PUT: 201 when it created).
    status: int = 0
    # The audited record's id, when neither the result nor the path gives it.
    target_id: str | None = None
    # Headers a handler adds to its answer (an export's Content-Disposition).
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def posted_by(self) -> str:
        """The name of the API key that made the request, as updates record their author."""
        return self.key.name


@dataclass(frozen=True)
class Operation:
    """One declared ops API operation: how it is reached (method, path under ``/api``), the
    handler, what it takes and answers (pydantic models), its scope and how it is audited.
    The OpenAPI document is generated from these."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    scope: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    audit: str | None = None
    # Customers: the audit log names the fields that changed, never their values.
    audit_values: bool = True
    # Body fields the audit log keeps only the size of (lists of customer ids).
    audit_redact: tuple[str, ...] = ()
    extra_statuses: tuple[int, ...] = ()
    # False where an empty body means the defaults (POST .../resolve).
    body_required: bool = True
    # A POST that only reads (a search whose terms stay out of the URL): it takes no
    # Idempotency-Key, so no answer, personal data included, is kept to replay.
    reads_only: bool = False
    # Longer than the summary: what the document says besides it.
    description: str = ""
    # The answer as CSV, for a request whose Accept header prefers text/csv.
    csv: Callable[[Any], str] | None = None

    @property
    def path_params(self) -> list[str]:
        """The names of the path's ``{parameters}``, in order."""
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    def path_rule(self, name: str) -> Matching:
        """The rule a path parameter must match (a record id unless ``PATH_RULES`` says
        otherwise); a value that breaks it gets 404 naming the parameter."""
        return PATH_RULES.get(name, RECORD_ID)


@dataclass
class Api:
    """A set of operations under one path prefix (``/api/v1``), declared with ``route``."""

    prefix: str
    operations: list[Operation] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, summary: str, tag: str, scope: str, **options: Any
    ) -> Callable[[Handler], Handler]:
        """Decorator: declare ``handler`` as ``method path`` (``options`` are ``Operation``'s
        other fields: body, query, response, status, audit...). Returns the handler as is."""

        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method=method,
                    path=self.prefix + path,
                    handler=handler,
                    summary=summary,
                    tag=tag,
                    scope=scope,
                    **options,
                )
            )
            return handler

        return register

    def add_routes(self, app: web.Application) -> None:
        """Add every declared operation to ``app``'s router, wrapped with auth, parsing,
        idempotency and audit."""
        for op in self.operations:
            app.router.add_route(op.method, self._router_path(op), _endpoint(op))

    def _router_path(self, op: Operation) -> str:
        """The path for aiohttp, a parameter kept from the literal of a sibling path.

        /customers/search is its own resource: without this, /customers/{external_id}
        would match it too, and its 405 would advertise GET, PUT and DELETE.
        """
        parts = op.path.split("/")
        for index, part in enumerate(parts):
            if not part.startswith("{"):
                continue
            taken = sorted(
                other[index]
                for other in (o.path.split("/") for o in self.operations)
                if len(other) == len(parts)
                and not other[index].startswith("{")
                and all(a == b or b.startswith("{") for a, b in zip(other, parts, strict=True))
            )
            if taken:
                words = "|".join(re.escape(word) for word in taken)
                parts[index] = f"{{{part[1:-1]}:(?!(?:{words})$)[^/]+}}"
        return "/".join(parts)


def _endpoint(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        secret = _bearer(request)
        takes_key = op.method == "POST" and not op.reads_only
        idem_key = request.headers.get("Idempotency-Key") if takes_key else None
        if idem_key is not None and not IDEMPOTENCY_KEY.matches(idem_key):
            raise ApiError(400, IDEMPOTENCY_KEY.problem, [_IDEMPOTENCY_KEY_ERROR])
        raw = await request.read()
        fingerprint = idempotency.request_hash(op.method, request.path, raw)
        sessions = request.app[keys.SESSIONS]
        try:
            async with sessions() as session, session.begin():
                ctx = await _context(request, session, op, secret)
                if idem_key is not None:
                    seen = await idempotency.find(session, ctx.key.id, idem_key)
                    if seen is not None:
                        return _replay(seen.status, seen.body, seen.request_hash, fingerprint)
                kwargs = _arguments(op, request, raw)
                result = await op.handler(ctx, **kwargs)
                status = ctx.status or op.status
                text = result.model_dump_json() if result is not None else ""
                if op.audit is not None:
                    _audit(ctx, op, kwargs, result)
                if idem_key is not None:
                    idempotency.remember(
                        session,
                        ctx.key.id,
                        idem_key,
                        request=fingerprint,
                        status=status,
                        body=text,
                        now=ctx.now,
                    )
        except IntegrityError:
            if idem_key is None:
                raise
            # A concurrent request with the same key committed first: answer as it did.
            async with sessions() as session:
                key = await api_keys.authenticate(session, secret, now=utcnow())
                seen = await idempotency.find(session, key.id, idem_key) if key else None
            if seen is None:
                raise
            return _replay(seen.status, seen.body, seen.request_hash, fingerprint)
        # Committed: first the public page (every web process shows it from now on),
        # then the worker. If Redis is away, the sweeper will tell the worker.
        if op.method != "GET" and op.tag not in OFF_PAGE_TAGS:
            await page_generation.bump(
                request.app[keys.QUEUE],
                publish=request.app[keys.SETTINGS].snapshot.publishing,
                touched=_page_record(op, request, result),
            )
        await enqueue.enqueue_fan_outs(request.app, notifications.created_in(session))
        if result is None:
            return web.Response(status=status, headers=ctx.headers)
        if op.csv is not None and prefers_csv(request.headers.get("Accept", "")):
            return web.Response(
                status=status,
                text=op.csv(result),
                content_type="text/csv",
                charset="utf-8",
                headers=ctx.headers,
            )
        return web.Response(
            status=status, text=text, content_type="application/json", headers=ctx.headers
        )

    endpoint.__name__ = op.handler.__name__
    return endpoint


def _page_record(op: Operation, request: web.Request, result: BaseModel | None) -> str | None:
    """The one incident or maintenance a write was about, for the publication to render
    only what shows it (``notifier.page.generation.TOUCHED``); None for any other write,
    which may show anywhere on the page (a component, a group)."""
    if op.tag not in RECORD_TAGS:
        return None
    found = request.match_info.get("incident_id") or request.match_info.get("maintenance_id")
    if found is None and op.method == "POST" and not op.path_params:  # a create
        found = getattr(result, "id", None)
    return found if isinstance(found, str) else None


def prefers_csv(accept: str) -> bool:
    """Whether an Accept header (RFC 9110 section 12.5.1) rates text/csv above
    application/json; a tie (``*/*``, no header) is JSON."""
    ranks = {"text/csv": 0.0, "application/json": 0.0}
    exact: dict[str, int] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        for wanted in ranks:
            # The most specific range that matches decides (text/csv over text/* over */*).
            kind = wanted.split("/")[0]
            fit = {wanted: 3, f"{kind}/*": 2, "*/*": 1}.get(media.lower(), 0)
            if fit > exact.get(wanted, 0):
                exact[wanted], ranks[wanted] = fit, quality
    return ranks["text/csv"] > ranks["application/json"]


def _arguments(op: Operation, request: web.Request, raw: bytes) -> dict[str, Any]:
    kwargs: dict[str, Any] = {name: _path_param(op, request, name) for name in op.path_params}
    if op.query is not None:
        # Query values are text: "20" is the integer 20 and "true" the boolean.
        query = dict(request.query)
        kwargs["query"] = _parse(op.query, lambda m: m.model_validate(query), "query")
    if op.body is not None:
        if op.body_required and not raw.strip():
            missing = FieldError(location="body", field="", pointer="", detail="Field required")
            raise ApiError(422, "the request needs a JSON body", [missing])
        json_body(raw)  # 400 unless it is I-JSON
        # Strict, as the document's JSON Schema types are: false is no integer, 0 no boolean.
        text = raw if raw.strip() else b"{}"
        kwargs["body"] = _parse(op.body, lambda m: m.model_validate_json(text, strict=True), "body")
    return kwargs


def _path_param(op: Operation, request: web.Request, name: str) -> str:
    """The parameter, checked before it reaches a query: outside its rule it names nothing,
    except where a PUT names the record it creates (422)."""
    value = request.match_info[name]
    rule = op.path_rule(name)
    if rule.matches(value):
        return value
    if op.method == "PUT":
        error = FieldError(location="path", field=name, pointer=f"/{name}", detail=rule.problem)
        raise ApiError(422, f"the {name} in the path is not valid", [error])
    raise ApiError(404, f"no record has this {name}")


_IDEMPOTENCY_KEY_ERROR = FieldError(
    location="header",
    field="Idempotency-Key",
    pointer="/Idempotency-Key",
    detail=IDEMPOTENCY_KEY.problem,
)


def _bearer(request: web.Request) -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    # Keys are printable ASCII; anything else is no key (and could not be hashed as sent).
    if scheme.lower() != "bearer" or not secret.strip() or not secret.isascii():
        raise ApiError(401, "send an API key as Authorization: Bearer <key>", headers=_CHALLENGE)
    return secret.strip()


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="forewarn"'}


async def _context(
    request: web.Request, session: AsyncSession, op: Operation, secret: str
) -> Context:
    now = utcnow()
    key = await api_keys.authenticate(session, secret, now=now)
    if key is None:
        raise ApiError(401, "the API key is unknown or revoked", headers=_CHALLENGE)
    if not api_keys.allows(key, op.scope):
        raise ApiError(403, f"this API key lacks the {op.scope!r} scope")
    return Context(session=session, key=key, now=now, request=request)


def _parse(
    model: type[BaseModel], parse: Callable[[type[BaseModel]], BaseModel], location: Location
) -> BaseModel:
    try:
        return parse(model)
    except ValidationError as exc:
        errors = field_errors(exc, location)
        raise ApiError(422, f"the request {location} is not valid", errors) from None


def _replay(status: int, text: str, stored_hash: str, fingerprint: str) -> web.Response:
    if stored_hash != fingerprint:
        raise ApiError(422, "this Idempotency-Key was already used with a different request")
    headers = {"Idempotent-Replayed": "true"}
    if not text:
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)


def _audit(ctx: Context, op: Operation, kwargs: dict[str, Any], result: BaseModel | None) -> None:
    assert op.audit is not None
    target_id = ctx.target_id or getattr(result, "id", None)
    if target_id is None and op.path_params:
        target_id = kwargs[op.path_params[0]]
    body = kwargs.get("body")
    changes: dict[str, Any] = {}
    if body is not None:
        dumped = body.model_dump(mode="json", exclude_unset=True)
        for name in op.audit_redact:
            if isinstance(dumped.get(name), list):
                dumped[name] = f"({len(dumped[name])} not kept)"
        changes = dumped if op.audit_values else {"fields": sorted(dumped)}
    audit.record(
        ctx.session,
        ctx.key,
        action=op.audit,
        target_type=op.audit.partition(".")[0],
        target_id=str(target_id or ""),
        changes=changes,
        now=ctx.now,
    )
