"""A fake Twilio ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form in, JSON out)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer


@dataclass(frozen=True)
class SmsRequest:
    form: dict[str, str]
    sid: str

    @property
    def to(self) -> str:
        return self.form["To"]


class FakeTwilio(FakeServer):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[SmsRequest] = []
        self.app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)

    @property
    def delivered(self) -> list[str]:
        """Every number a 201 accepted, in order."""
        return [r.to for r in self.requests if r.sid]

    def storm_body(self, status: int) -> dict[str, Any]:
        if status == 429:
            return error(20429, "Too Many Requests", 429)
        return error(20500, "Service Unavailable", status)

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (
            request.match_info["sid"] == self.account_sid
            and request.headers.get("Authorization") == f"Basic {expected}"
        )

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(error(20003, "Authenticate", 401), status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.journal.append("sms asked")
        await self.answering.wait()
        self.journal.append("sms answered")
        failure = self._failure_for(form.get("To"))
        if failure is not None:
            self.requests.append(SmsRequest(form, ""))
            return await self._answer_failure(failure)
        sid = "SM" + secrets.token_hex(16)
        self.requests.append(SmsRequest(form, sid))
        return web.json_response(_message(self.account_sid, sid, form), status=201)


def error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _message(account_sid: str, sid: str, form: dict[str, str]) -> dict[str, Any]:
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": "Mon, 23 Nov 2026 12:00:00 +0000",
        "date_sent": None,
        "date_updated": "Mon, 23 Nov 2026 12:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {},
        "to": form["To"],
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
