"""``create_app(settings)``: all the wiring of the web process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler
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
    app = web.Application(
        middlewares=[_counted_and_cached, inbox.cors, errors.middleware, forms.middleware]
    )
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


@web.middleware
async def _counted_and_cached(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request counted (``metrics.count``) once answered, and cached paths' GET and
    HEAD served through the page cache (``cache.applies``). One middleware, not two: a
    cached page's own cost is mostly layers like this one."""
    start = time.perf_counter()
    status = 500
    try:
        if cache.applies(request):
            response = await request.app[keys.PAGE_CACHE].serve(request, handler)
        else:
            response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.count(request, status, start)


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[keys.SETTINGS].database_url)
    app[keys.ENGINE] = engine
    app[keys.SESSIONS] = sessionmaker(engine)
    yield
    await engine.dispose()
