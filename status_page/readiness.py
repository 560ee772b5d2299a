"""``/readyz``: whether this web process can serve, for load balancers and orchestrators.

Ready means the database answers, Redis answers and the schema has every migration of
this release (``notifier.migrate.behind``). ``/healthz`` (``public.py``) stays the
liveness check; this one may fail while the process is fine, and should then take it
out of rotation, not restart it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifier import migrate
from status_page import keys
from status_page.api.errors import PROBLEM_JSON

# Each check gets this long (seconds): a probe's own timeout is usually a few seconds.
CHECK_TIMEOUT = 2.0
# A schema changes only with a deploy; probes poll every few seconds (seconds, monotonic).
SCHEMA_TTL = 5.0


@dataclass(slots=True)
class SchemaCheck:
    """``migrate.behind``, remembered for ``SCHEMA_TTL`` seconds: Alembic reads every
    migration script to find the newest, which is too much for each probe."""

    checked_at: float = -SCHEMA_TTL
    behind: bool = True

    async def is_behind(self, engine: AsyncEngine) -> bool:
        """Whether the schema lacks a migration (cached); database errors propagate."""
        now = time.monotonic()
        if now - self.checked_at >= SCHEMA_TTL:
            self.behind = await migrate.behind(engine)
            self.checked_at = now
        return self.behind


def add_routes(app: web.Application) -> None:
    """``/readyz``, with its schema check's cache in ``app[keys.SCHEMA_CHECK]``."""
    app[keys.SCHEMA_CHECK] = SchemaCheck()
    app.router.add_get("/readyz", ready)


async def ready(request: web.Request) -> web.Response:
    """200 ``{"status": "ready", "checks": {...}}`` when every check passes; otherwise 503
    problem+json (RFC 9457) whose ``detail`` names what failed and whose ``checks``
    extension member says, for each of ``database``, ``redis`` and ``migrations``,
    ``ok`` or why not (an error's class name, never its message: those carry hosts)."""
    app = request.app
    database, redis = await asyncio.gather(
        _check(lambda: _database(app)), _check(app[keys.QUEUE].ping)
    )
    checks = {"database": database, "redis": redis, "migrations": "not checked"}
    if database == "ok":
        checks["migrations"] = await _check(lambda: _schema(app))
    headers = {"Cache-Control": "no-store"}
    failed = [name for name, outcome in checks.items() if outcome != "ok"]
    if not failed:
        return web.json_response({"status": "ready", "checks": checks}, headers=headers)
    body = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "not ready: " + "; ".join(f"{name} {checks[name]}" for name in failed),
        "instance": request.path,
        "checks": checks,
    }
    return web.json_response(body, status=503, content_type=PROBLEM_JSON, headers=headers)


async def _database(app: web.Application) -> None:
    async with app[keys.ENGINE].connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _schema(app: web.Application) -> None:
    if await app[keys.SCHEMA_CHECK].is_behind(app[keys.ENGINE]):
        raise _Behind


class _Behind(Exception):
    """The schema lacks a migration of this release."""


async def _check(probe: Callable[[], Awaitable[object]]) -> str:
    """``ok``, or a short reason: timed out, behind, or the error's class name."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe()
    except TimeoutError:
        return f"did not answer within {CHECK_TIMEOUT:g} s"
    except _Behind:
        return "lacks migrations: run `forewarn migrate`"
    except Exception as exc:
        return f"did not answer ({type(exc).__name__})"
    return "ok"
