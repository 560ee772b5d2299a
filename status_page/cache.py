"""Public GET (and HEAD) responses cached in each web process, never stale across processes.

Every commit that can change the public page replaces a token in Redis
(``notifier.page.generation``): the ops API after each write, the worker after a
maintenance transition. A cached response carries the token it was rendered under
and is served only while Redis still holds that token.

Strictly fresh: once an update's HTTP response has returned, any later GET on any
process shows it. Usually the token is this process's copy, kept by pub/sub under a
lease (``status_page.freshness``: the bump waits until every process with a lease has
applied its token), and a cached page costs no Redis read. Without a lease (the
subscription down, or not confirmed for ``LEASE``) each request needs a token read
that was *sent after the request arrived*. Reads are single-flight: a request
arriving while no read is in flight starts one; a request arriving while one is in
flight waits for the NEXT read (the one in flight may have been sent before its update
was bumped). Under a rush one Redis GET answers a whole batch of requests, and a
request waits at most two round trips. Pub/sub alone would not be strict (a request
can be served before the invalidation message is read): the bump's wait for
acknowledgements makes it so.

Concurrent misses are coalesced: one render per (key, token); a rush after an update
renders the page once per process. Entries are also rendered again after ``MAX_AGE``:
pages show time-derived things (what is upcoming, today's uptime) that change with no
write; one request renders, the others meanwhile get the aged entry.

Text formats are kept gzipped too, compressed once per render: in a rush bandwidth
runs out before CPU (the home page is 85 KB, 4 KB gzipped), and compressing
each response again would cost a render's worth of CPU every few requests.

The page handlers know nothing of this; the allow-list below says what is cached.
If Redis cannot be read, requests are rendered as if there were no cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict, CIMultiDictProxy
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from notifier.page import generation as page_generation
from status_page import freshness, i18n, keys
from status_page.metrics import count_page_cache

log = logging.getLogger(__name__)

MAX_AGE = 10.0  # seconds; as long as the JSON API lets clients keep a document
MAX_ENTRIES = 256  # bounds memory when visitors vary the query string
READ_TIMEOUT = 1.0  # seconds; a Redis that hangs must not hang the page with it
# Public pages, the /api/v2 documents, feeds and badges. Nothing else, ever: not
# /api/v1, /subscribe, /manage, /unsubscribe, /dev/, /inbox or webhooks.
EXACT = frozenset({"/", "/history", "/feed.atom", "/feed.rss", "/badge.svg"})
PREFIXES = ("/incidents/", "/maintenance/", "/api/v2/", "/components/")
# Paths in these formats are the same in every language; anything else is a page.
LANGUAGE_FREE = (".json", ".atom", ".rss", ".svg")
# Sent again with a 304, as RFC 9110 section 15.4.5 asks.
_NOT_MODIFIED_HEADERS = (
    hdrs.ETAG,
    hdrs.CACHE_CONTROL,
    hdrs.VARY,
    hdrs.CONTENT_LOCATION,
    hdrs.EXPIRES,
    hdrs.ACCESS_CONTROL_ALLOW_ORIGIN,
)
_NOT_KEPT = (hdrs.CONTENT_LENGTH, hdrs.DATE, hdrs.SERVER, hdrs.TRANSFER_ENCODING)

# Worth gzipping: text formats of at least a typical packet (smaller ones gain little).
COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/atom+xml",
    "application/rss+xml",
    "image/svg+xml",
)
COMPRESS_MIN_BYTES = 1400

_CACHED_METHODS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD})

Key = tuple[str, str]  # path and query, language


def cached_path(path: str) -> bool:
    """Whether GETs of ``path`` are cached (the public pages, feeds, badges, ``/api/v2``)."""
    return path in EXACT or path.startswith(PREFIXES)


@dataclass(slots=True)
class Variant:
    """One encoding of a cached response: what a 200 sends, and what a 304 sends."""

    body: bytes
    headers: CIMultiDictProxy[str]
    etag: str
    not_modified: CIMultiDictProxy[str]


@dataclass(slots=True)
class Entry:
    """A cached response: the generation ``token`` it was made under, when (monotonic
    seconds), and its plain and gzip-encoded variants."""

    token: bytes
    born: float
    identity: Variant
    gzipped: Variant | None  # None: not worth compressing


class PageCache:
    """This process's cached responses, and its single-flight reads of the token."""

    def __init__(
        self, redis: Redis, *, max_age: float = MAX_AGE, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._redis = redis
        self.max_age = max_age
        self.max_entries = max_entries
        # Counters, read by the tests.
        self.renders = 0  # handler calls made to fill the cache
        self.hits = 0
        self.coalesced = 0  # requests that waited for another request's render
        self.token_reads = 0
        self._entries: dict[Key, Entry] = {}
        self._filling: dict[tuple[Key, bytes], asyncio.Future[Entry | None]] = {}
        # The requests waiting for the read in flight, and for the next one. Each has
        # a future of its own: a cancelled request cancels only its own (asyncio.shield
        # around one shared future did the same at three Python calls per request).
        self._reading: list[asyncio.Future[bytes | None]] | None = None
        self._queued: list[asyncio.Future[bytes | None]] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._token = b""
        self._connection: AbstractConnection | None = None
        # Until when (time.monotonic) ``_token`` may be used without reading it
        # (``status_page.freshness``), and how many tokens were applied from pub/sub.
        self._trusted_until = 0.0
        self._applied = 0
        self.subscription: freshness.Subscription | None = None  # set by ``cache``

    def apply(self, token: bytes) -> None:
        """``token`` is the generation now (read or published after every earlier one)."""
        if token != self._token:
            self._token = token
            self._entries.clear()
            self._applied += 1

    @property
    def trusted(self) -> bool:
        """Whether the token is used now without reading it (a lease from pub/sub)."""
        return time.monotonic() < self._trusted_until

    def trust(self, until: float) -> None:
        """Use the token without reading it until ``until`` (``time.monotonic``)."""
        self._trusted_until = until

    async def token(self) -> bytes | None:
        """The token, read from Redis after this call began; None if Redis failed."""
        waiter: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        if self._reading is None:
            self._reading = [waiter]
            self._reader = asyncio.create_task(self._read(self._reading))
        elif self._queued is None:
            self._queued = [waiter]
        else:
            self._queued.append(waiter)
        return await waiter

    async def _read(self, waiters: list[asyncio.Future[bytes | None]]) -> None:
        token: bytes | None = None
        applied = self._applied
        try:
            self.token_reads += 1
            async with asyncio.timeout(READ_TIMEOUT):
                token = await self._current()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("page cache bypassed, the page generation is unreadable: %r", exc)
        finally:
            # A token published meanwhile may be newer than the one read: keep it.
            if token is not None and applied == self._applied:
                self.apply(token)
            for waiter in waiters:
                if not waiter.done():  # else its request was cancelled
                    waiter.set_result(token)
            self._reading, self._queued = self._queued, None
            if self._reading is not None:
                self._reader = asyncio.create_task(self._read(self._reading))

    async def _current(self) -> bytes:
        """GET the token on a connection of the cache's own, when ``_redis`` is redis-py's
        client: through the pool each read also took its lock, probed the socket and
        dispatched a release event, a tenth of a cached page's CPU. Reads never overlap
        (single-flight), so one connection is enough. A missing key goes the usual way."""
        if not isinstance(self._redis, Redis):  # a test's stand-in: its own get()
            return await page_generation.current(self._redis)
        if self._connection is None:
            self._connection = self._redis.connection_pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            token = await self._get(self._connection)
        except RedisConnectionError:
            # Closed since the last read (Redis restarted): once more on a new socket, as
            # the pool would have (it probed each connection before handing it out).
            token = await self._get(self._connection)
        if not isinstance(token, bytes) or not token:
            return await page_generation.current(self._redis)
        return token

    @staticmethod
    async def _get(connection: AbstractConnection) -> object:
        try:
            await connection.send_command("GET", page_generation.KEY)
            return await connection.read_response()
        except BaseException:
            # Half a conversation (a timeout, a reset): the next answer would be this one's.
            await connection.disconnect()
            raise

    async def serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer from the cache while the page generation is unchanged, else call
        ``handler`` once for all concurrent requests of the same key and keep what it made.
        Without Redis (no token) every request goes to ``handler``."""
        if time.monotonic() < self._trusted_until:
            token: bytes | None = self._token
        else:
            token = await self.token()
        if token is None:
            count_page_cache("bypass")
            return await handler(request)
        lang = "" if request.path.endswith(LANGUAGE_FREE) else i18n.negotiate(request)
        key = (request.path_qs, lang)
        entry = self._entries.get(key)
        loop = asyncio.get_running_loop()
        slot = (key, token)
        pending = self._filling.get(slot)
        # Aged but current: while one request renders it again, the others get it as it
        # is (no update is missing from it, only a few seconds of time passing).
        if (
            entry is not None
            and entry.token == token
            and (pending is not None or loop.time() - entry.born < self.max_age)
        ):
            self.hits += 1
            count_page_cache("hit")
            return _respond(entry, request)
        if pending is not None:
            self.coalesced += 1
            count_page_cache("coalesced")
            entry = await asyncio.shield(pending)
            return _respond(entry, request) if entry is not None else await handler(request)
        future: asyncio.Future[Entry | None] = loop.create_future()
        self._filling[slot] = future
        entry = None
        try:
            self.renders += 1
            count_page_cache("miss")
            # Render in full even for a conditional request, so the entry can serve everyone.
            response = await handler(_unconditional(request))
            entry = _entry(response, token, loop.time())
        finally:
            del self._filling[slot]
            future.set_result(entry)  # None: the waiters render for themselves
        if entry is None:
            return response
        if token == self._token:  # else a newer token arrived while rendering
            if len(self._entries) >= self.max_entries and key not in self._entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = entry
        return _respond(entry, request)

    async def close(self) -> None:
        """Stop reading the token (on application cleanup)."""
        if self._reader is not None:
            self._reader.cancel()
        if self._connection is not None:
            await self._connection.disconnect()


def _unconditional(request: web.Request) -> web.Request:
    if hdrs.IF_NONE_MATCH not in request.headers:
        return request
    headers = CIMultiDict(request.headers)
    del headers[hdrs.IF_NONE_MATCH]
    return request.clone(headers=headers)


def _entry(response: web.StreamResponse, token: bytes, now: float) -> Entry | None:
    """What may be kept: a complete 200 with no cookie, nothing private, not compressed."""
    if (
        type(response) is not web.Response
        or response.status != 200
        or response.prepared
        or response.compression
        or response.cookies  # set_cookie() keeps them here until the response is sent
        or hdrs.SET_COOKIE in response.headers
        or hdrs.CONTENT_ENCODING in response.headers
        or not isinstance(response.body, bytes)
    ):
        return None
    control = response.headers.get(hdrs.CACHE_CONTROL, "").lower()
    if "no-store" in control or "private" in control:
        return None
    body = response.body
    headers = CIMultiDict(response.headers)
    for name in _NOT_KEPT:
        headers.popall(name, None)
    if hdrs.ETAG not in headers:
        headers[hdrs.ETAG] = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    content_type = headers.get(hdrs.CONTENT_TYPE, "")
    if not content_type.startswith(COMPRESSIBLE):
        return Entry(token, now, _variant(body, headers), None)
    _vary(headers, hdrs.ACCEPT_ENCODING)
    identity = _variant(body, headers)
    if len(body) < COMPRESS_MIN_BYTES:
        return Entry(token, now, identity, None)
    compressed = gzip.compress(body, mtime=0)  # mtime 0: the same bytes every render
    if len(compressed) >= len(body):
        return Entry(token, now, identity, None)
    headers[hdrs.CONTENT_ENCODING] = "gzip"
    # Another representation, so another strong validator (RFC 9110 section 8.8.3).
    headers[hdrs.ETAG] = headers[hdrs.ETAG].removesuffix('"') + '-gzip"'
    return Entry(token, now, identity, _variant(compressed, headers))


def _variant(body: bytes, headers: CIMultiDict[str]) -> Variant:
    not_modified: CIMultiDict[str] = CIMultiDict()
    for name in _NOT_MODIFIED_HEADERS:
        for value in headers.getall(name, ()):
            not_modified.add(name, value)
    return Variant(
        body=body,
        headers=CIMultiDictProxy(CIMultiDict(headers)),
        etag=headers[hdrs.ETAG],
        not_modified=CIMultiDictProxy(not_modified),
    )


def _vary(headers: CIMultiDict[str], name: str) -> None:
    named = [v.strip() for value in headers.getall(hdrs.VARY, ()) for v in value.split(",")]
    if name.lower() not in {n.lower() for n in named}:
        headers[hdrs.VARY] = ", ".join([*filter(None, named), name])


def _respond(entry: Entry, request: web.Request) -> web.Response:
    variant = entry.identity
    if entry.gzipped is not None and accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING, "")):
        variant = entry.gzipped
    condition = request.headers.get(hdrs.IF_NONE_MATCH)
    if condition is not None and _matches(condition, variant.etag):
        return web.Response(status=304, headers=variant.not_modified)
    return web.Response(body=variant.body, headers=variant.headers)


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct headers
def accepts_gzip(header: str) -> bool:
    """Whether ``Accept-Encoding`` admits gzip (RFC 9110 section 12.5.3)."""
    qualities: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        qualities[coding.strip().lower()] = quality
    for coding in ("gzip", "x-gzip", "*"):
        if coding in qualities:
            return qualities[coding] > 0
    return False


def _matches(condition: str, etag: str) -> bool:
    # If-None-Match compares weakly (RFC 9110 section 13.1.2).
    tags = {tag.strip().removeprefix("W/") for tag in condition.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def applies(request: web.Request) -> bool:
    """Whether ``request`` is served through the page cache: GET and HEAD of cached paths
    (``status_page.app``'s outermost middleware asks)."""
    # HEAD too: monitors poll with it, and its headers must be GET's (RFC 9110 9.3.2).
    return request.method in _CACHED_METHODS and cached_path(request.path)


async def cache(app: web.Application) -> AsyncIterator[None]:
    """After ``enqueue.pool``: reads the token through the same Redis connection pool, and
    keeps it from pub/sub (``status_page.freshness``) on connections of its own."""
    page_cache = PageCache(app[keys.QUEUE])
    app[keys.PAGE_CACHE] = page_cache
    subscription = freshness.Subscription(app[keys.SETTINGS].redis_url, page_cache)
    task = asyncio.create_task(subscription.run(), name="forewarn page generation")
    page_cache.subscription = subscription
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await subscription.close()
        await page_cache.close()
