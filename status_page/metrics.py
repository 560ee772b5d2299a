"""``/metrics`` in Prometheus text format, and the web process's own figures: HTTP
requests by route pattern and status, and the page cache's hits and misses.

``/metrics`` shows what ``notifier.metrics.registry`` holds (every process's figures
when ``FOREWARN_METRICS__DIR`` is shared, else this process's) and, read at scrape
time, the job queue's depth in Redis and the deliveries waiting in the database. With
``FOREWARN_METRICS__TOKEN`` set it answers only ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import bisect
import hmac
import logging
import time
from collections.abc import Iterator

from aiohttp import web
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
    """``GET /metrics`` (requests are counted by ``count``, from ``status_page.app``)."""
    app.router.add_get("/metrics", metrics)
    app.on_cleanup.append(_flush_on_cleanup)


def route_of(request: web.Request) -> str:
    """The pattern of the route that matched (``/manage/{token}``), never the path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


# Counted per request in plain dicts, added to the Prometheus metrics at most
# ``FLUSH_SECONDS`` later and at every scrape of this process: a metric's ``inc`` takes
# a lock (and, with ``FOREWARN_METRICS__DIR``, writes a shared file), four of them per
# request were a fifth of a cached page's time beyond the bare app. Another process's
# ``/metrics`` shows this one's figures at most ``FLUSH_SECONDS`` late.
FLUSH_SECONDS = 1.0
_BOUNDS = tuple(HTTP_SECONDS._upper_bounds)  # the buckets, +Inf last (private, as in observe)
# (method, route pattern, status) -> [requests, seconds summed, then requests per bucket]
_requests: dict[tuple[str, str, int], list[float]] = {}
_cache_results: dict[str, int] = {}  # page cache result -> requests
_flush: asyncio.TimerHandle | None = None


def count_page_cache(result: str) -> None:
    """One cached-page request answered as ``result`` (hit, miss, coalesced, bypass)."""
    _cache_results[result] = _cache_results.get(result, 0) + 1
    if _flush is None:
        _schedule()


def _schedule() -> None:
    global _flush
    _flush = asyncio.get_running_loop().call_later(FLUSH_SECONDS, flush)


def flush() -> None:
    """Add what was counted since the last flush to the Prometheus metrics."""
    global _flush
    if _flush is not None:
        _flush.cancel()
        _flush = None
    for (method, route, status), tally in _requests.items():
        HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc(tally[0])
        seconds = HTTP_SECONDS.labels(route=route)
        # What observe() does, once per bucket rather than once per request.
        seconds._sum.inc(tally[1])
        for bucket, n in enumerate(tally[2:]):
            if n:
                seconds._buckets[bucket].inc(n)
    _requests.clear()
    for result, n in _cache_results.items():
        PAGE_CACHE.labels(result=result).inc(n)
    _cache_results.clear()


def count(request: web.Request, status: int, start: float) -> None:
    """Count ``request``, answered with ``status``, under its route pattern; ``start`` is
    ``time.perf_counter()`` when it arrived. Called by the outermost middleware
    (``status_page.app``) for every request."""
    seconds = time.perf_counter() - start
    key = (request.method, route_of(request), status)
    tally = _requests.get(key)
    if tally is None:
        tally = _requests[key] = [0, 0.0] + [0] * len(_BOUNDS)
    tally[0] += 1
    tally[1] += seconds
    tally[2 + bisect.bisect_left(_BOUNDS, seconds)] += 1
    if _flush is None:
        _schedule()


async def _flush_on_cleanup(app: web.Application) -> None:
    flush()


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
    flush()  # this process's figures exact; others' at most FLUSH_SECONDS late
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
