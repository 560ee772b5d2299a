"""``create_app(settings)``: all the wiring of the web process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_remotes import XForwardedRelaxed

from config import Settings
from notifier.db import create_engine, sessionmaker
from status_page import (
    cache,
    dev_inbox,
    dev_outbox,
    enqueue,
    feeds,
    forms,
    html,
    inbox,
    inbox_client,
    inbox_openapi,
    keys,
    live,
    manage,
    metrics,
    public,
    public_api,
    rate,
    readiness,
    subscribe,
    unsubscribe,
    webhooks,
)
from status_page.api import errors, openapi
from status_page.api.v1 import API


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application, wired: middlewares, app keys (``keys``), resources in
    ``cleanup_ctx`` and every route. Raises ValueError when the secret key is empty."""
    if not settings.secret_key.get_secret_value():
        raise ValueError("FOREWARN_SECRET_KEY is empty (the forewarn command sets one in dev)")
    # Counting and the cache outermost, in one layer: a hit costs no more; error pages
    # come back to the cache as responses (not 200), which it does not keep. The inbox's
    # CORS sees errors too. Innermost, forms.middleware: unreadable input is a 400 page,
    # not an error to log.
    in_flight = InFlight()
    app = web.Application(
        middlewares=[_outermost(in_flight), inbox.cors, errors.middleware, forms.middleware]
    )
    app[keys.IN_FLIGHT] = in_flight
    if settings.proxy_hops:
        # First of all: every later step sees the client's address, not the proxy's.
        app.middlewares.insert(0, XForwardedRelaxed(settings.proxy_hops).middleware)
    app[keys.SETTINGS] = settings
    app[keys.TEMPLATES] = html.Templates(settings)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(enqueue.pool)
    app.cleanup_ctx.append(cache.cache)
    app.cleanup_ctx.append(live.fan_in)
    app.on_shutdown.append(live.end_streams)
    API.add_routes(app)
    app[keys.OPENAPI_DOCUMENT] = openapi.for_app(app)
    openapi.add_routes(app)
    public.add_routes(app)
    readiness.add_routes(app)
    public_api.add_routes(app)
    feeds.add_routes(app)
    subscribe.add_routes(app)
    manage.add_routes(app)
    unsubscribe.add_routes(app)
    rate.add_routes(app)
    webhooks.add_routes(app)
    dev_outbox.add_routes(app)
    dev_inbox.add_routes(app)
    inbox.add_routes(app)
    inbox_client.add_routes(app)
    inbox_openapi.add_routes(app)
    metrics.add_routes(app)
    return app


class InFlight:
    """The requests being handled (the outermost middleware counts them), and whether the
    server is stopping (``forewarn.serving.stop_web``): then each response closes its
    connection rather than keep it alive."""

    def __init__(self) -> None:
        self.stopping = False
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def started(self) -> None:
        self.count += 1
        self._idle.clear()

    def ended(self) -> None:
        self.count -= 1
        if not self.count:
            self._idle.set()

    async def idle(self) -> None:
        """Until no request is being handled."""
        await self._idle.wait()


def _outermost(in_flight: InFlight) -> Middleware:
    """Requests in flight counted, every request counted (``metrics.count``) once
    answered, and cached paths' GET and HEAD served through the page cache
    (``cache.applies``). One middleware, not three: a cached page's own cost was mostly
    layers like this one."""

    @web.middleware
    async def outermost(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        in_flight.started()
        try:
            if cache.applies(request):
                response = await request.app[keys.PAGE_CACHE].serve(request, handler)
            else:
                response = await handler(request)
            status = response.status
            if in_flight.stopping:
                response.force_close()
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            in_flight.ended()
            metrics.count(request, status, start)

    return outermost


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[keys.SETTINGS].database_url)
    app[keys.ENGINE] = engine
    app[keys.SESSIONS] = sessionmaker(engine)
    yield
    await engine.dispose()
