"""``/metrics`` in Prometheus text format, and the web process's own figures: HTTP
requests by route pattern and status, and the page cache's hits and misses.

``/metrics`` shows what ``notifier.metrics.registry`` holds (every process's figures
when ``FOREWARN_METRICS__DIR`` is shared, else this process's) and, read at scrape
time, the job queue's depth in Redis and the deliveries waiting in the database. With
``FOREWARN_METRICS__TOKEN`` set it answers only ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from notifier import metrics as shared
from notifier.delivery import metrics as delivery_metrics
from status_page import keys

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "forewarn_http_requests",
    "HTTP requests answered, by method, route pattern (never the path itself) and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "forewarn_http_request_seconds",
    "Time to answer an HTTP request, by route pattern, seconds.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
PAGE_CACHE = Counter(
    "forewarn_page_cache_requests",
    "Cached public pages: hit (answered from the cache), miss (rendered), coalesced "
    "(waited for another request's render), bypass (page generation unreadable).",
    ["result"],
)
# A request no route matched (a 404, a 405): one label for all, whatever the path.
UNMATCHED = "(unmatched)"


def add_routes(app: web.Application) -> None:
    """``GET /metrics``, and the middleware that counts every request (outermost)."""
    app.router.add_get("/metrics", metrics)
    app.middlewares.insert(0, counting)


def route_of(request: web.Request) -> str:
    """The pattern of the route that matched (``/manage/{token}``), never the path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


# The labelled children, bound on first use: ``labels()`` costs a lock, keyword
# handling and a dict lookup each call (a tenth of a cached page's time in the
# counting middleware). Bound lazily, not at import: ``notifier.metrics.share`` must
# run first so the values live in the shared files. Bounded like prometheus-client's
# own children: one per method, route pattern and status seen.
_bound: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _children(method: str, route: str, status: int) -> tuple[Any, Any]:
    children = (
        HTTP_REQUESTS.labels(method=method, route=route, status=str(status)),
        HTTP_SECONDS.labels(route=route),
    )
    _bound[method, route, status] = children
    return children


@web.middleware
async def counting(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request under its route pattern and status once it is answered."""
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        key = (request.method, route_of(request), status)
        children = _bound.get(key) or _children(*key)
        children[0].inc()
        children[1].observe(time.perf_counter() - start)


async def metrics(request: web.Request) -> web.Response:
    """Every figure in Prometheus text format; 401 without the token when one is set."""
    settings = request.app[keys.SETTINGS].metrics
    token = settings.token.get_secret_value()
    if token and not hmac.compare_digest(
        request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
    ):
        return web.Response(
            status=401, text="a bearer token is needed\n", headers={"WWW-Authenticate": "Bearer"}
        )
    now = _ScrapeTime(await _queue(request.app[keys.QUEUE]), await _waiting(request.app))
    scraped = CollectorRegistry()
    scraped.register(now)
    registry = shared.registry(settings.dir)
    # Reading every process's files is file I/O: off the event loop.
    body = await asyncio.to_thread(lambda: generate_latest(registry) + generate_latest(scraped))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _queue(redis: ArqRedis) -> dict[str, int] | None:
    """The arq queue's jobs: due now, and scheduled later (deferred retries); None if
    Redis did not answer."""
    try:
        total = await redis.zcard(default_queue_name)
        due = await redis.zcount(default_queue_name, "-inf", time.time() * 1000)
    except (RedisError, OSError) as exc:
        log.warning("metrics: the queue's depth is unreadable: %r", exc)
        return None
    return {"due": int(due), "scheduled": int(total) - int(due)}


async def _waiting(app: web.Application) -> dict[tuple[str, str], int] | None:
    try:
        async with app[keys.SESSIONS]() as session:
            return await delivery_metrics.waiting(session)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("metrics: the waiting deliveries are unreadable: %r", exc)
        return None


class _ScrapeTime(Collector):
    """What is read when scraped rather than counted: the same in every process."""

    def __init__(
        self, queue: dict[str, int] | None, waiting: dict[tuple[str, str], int] | None
    ) -> None:
        self._queue = queue
        self._waiting = waiting

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self._queue is not None:
            depth = GaugeMetricFamily(
                "forewarn_queue_jobs",
                "Jobs in the arq queue in Redis: due now, or scheduled later.",
                labels=["state"],
            )
            for state, n in self._queue.items():
                depth.add_metric([state], n)
            yield depth
        if self._waiting is not None:
            waiting = GaugeMetricFamily(
                "forewarn_deliveries_waiting",
                "Deliveries not sent yet, by channel and why: held (quiet hours, no-spam "
                "window), retrying (after a transient error), queued (not tried yet).",
                labels=["channel", "why"],
            )
            for (channel, why), n in sorted(self._waiting.items()):
                waiting.add_metric([channel, why], n)
            yield waiting
