"""Typed keys of everything the application holds, and nothing else.

Every ``web.AppKey`` lives here. This module imports nothing of ``status_page``:
what the page cache, the templates and the inboxes are to their users is said by
the Protocols below, which ``cache.PageCache``, ``html.Templates`` and
``live.Inboxes`` fulfil (mypy checks it where they are stored in the app).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from config import Settings
from notifier.inbox_tokens import VerifyingKey


class Templates(Protocol):
    """The page templates: one Jinja environment per language, in the page's time zone."""

    @property
    def zone(self) -> ZoneInfo:
        """The status page's time zone (``FOREWARN_PAGE_TIME_ZONE``)."""
        ...

    def environment(self, lang: str = ...) -> jinja2.Environment:
        """The environment of ``lang`` (an ``i18n.LANGUAGES`` code; the default language
        when left out); a KeyError for any other."""
        ...


class InboxListener(Protocol):
    """One open in-app stream's side of ``Inboxes`` (``live.Listener``)."""

    @property
    def user_id(self) -> str:
        """Whose stream it is."""
        ...

    @property
    def queue(self) -> asyncio.Queue[Any]:
        """The user's live events; ``None`` in it means: end the stream."""
        ...

    @property
    def behind(self) -> Any:
        """Why it missed live events (``live.Behind``), or None."""
        ...

    def take_behind(self) -> Any:
        """``behind``, cleared: the stream catches up from the inbox now."""
        ...


class Inboxes(Protocol):
    """This process's open in-app streams (SSE), by host-application user id."""

    def listen(self, user_id: str) -> AbstractContextManager[InboxListener]:
        """A listener for the user's live events while the block runs."""
        ...

    def close(self) -> None:
        """End every stream: the process is shutting down."""
        ...

    def __len__(self) -> int:
        """How many streams are open."""
        ...


class PageCache(Protocol):
    """This process's cache of public responses (``status_page.cache``)."""

    async def serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The response to ``request``: cached if still current, else ``handler``'s."""
        ...

    async def close(self) -> None:
        """Stop reading the page generation from Redis."""
        ...


class InFlight(Protocol):
    """The requests being handled, and whether the server is stopping (``app.InFlight``)."""

    stopping: bool

    async def idle(self) -> None:
        """Until no request is being handled."""
        ...


class SchemaCheck(Protocol):
    """``/readyz``'s schema check, remembered a few seconds (``readiness.SchemaCheck``)."""

    async def is_behind(self, engine: AsyncEngine) -> bool:
        """Whether the database lacks a migration of this release."""
        ...


SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
TEMPLATES: web.AppKey[Templates] = web.AppKey("templates")
QUEUE = web.AppKey("queue", ArqRedis)
INBOXES: web.AppKey[Inboxes] = web.AppKey("inboxes")
PAGE_CACHE: web.AppKey[PageCache] = web.AppKey("page_cache")
IN_FLIGHT: web.AppKey[InFlight] = web.AppKey("in_flight")
# The OpenAPI 3.1 document of /api/v1, built once at start-up (``api.openapi.for_app``).
OPENAPI_DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")
# The in-app inbox API's own document (``inbox_openapi.py``), built once at start-up.
INBOX_OPENAPI_DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("inbox_openapi_document")
SCHEMA_CHECK: web.AppKey[SchemaCheck] = web.AppKey("schema_check")
# The keys user tokens of the in-app inbox are checked with, by kid (``inbox_http``).
INBOX_TOKEN_KEYS = web.AppKey("inbox_token_keys", dict[str, VerifyingKey])
