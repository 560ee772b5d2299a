"""What both fakes share: a server on 127.0.0.1 and a script of failures to play."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler


@dataclass
class Failure:
    """Answer the next matching request with this instead of success."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Hang this long before answering (a timeout, from the client's side).
    delay: float = 0.0
    # Only for requests to this address (None: any request).
    to: str | None = None
    # How many requests it answers; -1: every matching one.
    times: int = 1


@dataclass
class Storm:
    """A provider refusing everyone for a while: every request until ``until``
    (monotonic) is answered 429 with ``Retry-After: retry_after`` and 503 (no header)
    in turn. ``refused``: (monotonic time, status) of each request it answered."""

    until: float
    retry_after: int
    refused: list[tuple[float, int]] = field(default_factory=list)


class FakeServer:
    def __init__(self) -> None:
        # Outermost: a storm answers before any other middleware (a test's gate) sees it.
        self.app = web.Application(middlewares=[self._storming])
        self.failures: list[Failure] = []
        # Every request that reached the server, storm or not: monotonic times.
        self.asked: list[float] = []
        self.storm: Storm | None = None
        # Cleared: requests wait for it before they are answered (a provider taking its time).
        self.answering = asyncio.Event()
        self.answering.set()
        # What happened, in order; fakes may share one to show which went first.
        self.journal: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def fail(self, failure: Failure) -> None:
        self.failures.append(failure)

    def start_storm(self, seconds: float, retry_after: int) -> Storm:
        """Refuse every request for ``seconds`` from now (see ``Storm``)."""
        self.storm = Storm(time.monotonic() + seconds, retry_after)
        return self.storm

    def storm_body(self, status: int) -> dict[str, Any]:
        """The provider's error body for a storm's ``status`` (429 or 503)."""
        return {"errors": [{"message": f"storm: {status}"}]}

    @web.middleware
    async def _storming(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        now = time.monotonic()
        self.asked.append(now)
        storm = self.storm
        if storm is None or now >= storm.until:
            return await handler(request)
        await request.read()
        status = 503 if len(storm.refused) % 2 else 429
        storm.refused.append((now, status))
        headers = {"Retry-After": str(storm.retry_after)} if status == 429 else {}
        return web.json_response(self.storm_body(status), status=status, headers=headers)

    def _failure_for(self, to: str | None) -> Failure | None:
        for failure in self.failures:
            if failure.to is None or failure.to == to:
                if failure.times > 0:
                    failure.times -= 1
                if failure.times == 0:
                    self.failures.remove(failure)
                return failure
        return None

    async def _answer_failure(self, failure: Failure) -> web.Response:
        if failure.delay:
            await asyncio.sleep(failure.delay)
        return web.json_response(failure.body, status=failure.status, headers=failure.headers)

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
