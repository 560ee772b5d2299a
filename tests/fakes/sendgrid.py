"""A fake SendGrid v3 ``POST /v3/mail/send``: 202 with X-Message-Id, or scripted errors."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.base import FakeServer


@dataclass(frozen=True)
class MailRequest:
    body: dict[str, Any]
    authorization: str
    message_id: str

    @property
    def recipients(self) -> list[str]:
        return [p["to"][0]["email"] for p in self.body["personalizations"]]


class FakeSendGrid(FakeServer):
    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[MailRequest] = []
        self.app.router.add_post("/v3/mail/send", self._send)

    @property
    def delivered(self) -> list[str]:
        """Every address a 202 accepted, in order."""
        return [to for r in self.requests if r.message_id for to in r.recipients]

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            body = await request.json(loads=orjson.loads)
            self.requests.append(MailRequest(body, request.headers.get("Authorization", ""), ""))
            return web.json_response(
                {"errors": [{"message": "The provided authorization grant is invalid"}]},
                status=401,
            )
        body = await request.json(loads=orjson.loads)
        self.journal.append("email asked")
        recipients = [p["to"][0]["email"] for p in body["personalizations"]]
        failure = next((f for f in list(self.failures) if f.to is None or f.to in recipients), None)
        if failure is not None:
            failure = self._failure_for(failure.to)
        if failure is not None:
            self.requests.append(MailRequest(body, request.headers["Authorization"], ""))
            return await self._answer_failure(failure)
        message_id = secrets.token_urlsafe(16)
        self.requests.append(MailRequest(body, request.headers["Authorization"], message_id))
        return web.Response(status=202, headers={"X-Message-Id": message_id})


def bad_address(index: int) -> dict[str, Any]:
    """SendGrid's 400 body for an invalid recipient at personalizations[index]."""
    return {
        "errors": [
            {
                "message": "Does not contain a valid address.",
                "field": f"personalizations.{index}.to.0.email",
                "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html",
            }
        ]
    }
