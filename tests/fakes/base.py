"""What both fakes share: a server on 127.0.0.1 and a script of failures to play."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


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


class FakeServer:
    def __init__(self) -> None:
        self.app = web.Application()
        self.failures: list[Failure] = []
        # Cleared: requests wait for it before they are answered (a provider taking its time).
        self.answering = asyncio.Event()
        self.answering.set()
        # What happened, in order; fakes may share one to show which went first.
        self.journal: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def fail(self, failure: Failure) -> None:
        self.failures.append(failure)

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
