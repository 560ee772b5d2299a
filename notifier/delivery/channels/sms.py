"""SMS through Twilio's REST API with the ``twilio`` library's async HTTP client.

Each text is one ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form fields
``To``, ``Body``, ``From`` or ``MessagingServiceSid``, ``StatusCallback``; JSON answer),
the request ``messages.create_async`` makes, sent through the library's own HTTP client
with its headers; the form is encoded and the answer's ``sid`` (or error ``code``) read
here rather than by the library's request builders and ``MessageInstance``: 135-161 µs
of CPU a request against 230-254 µs (bench/README.md, "issue 14: texts by one form
POST"). The request is checked against Twilio's OpenAPI document in ``tests/contract``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
import orjson
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from config import TwilioSettings
from notifier.delivery import metrics
from notifier.delivery.channels.base import (
    Content,
    DeliveryError,
    Outcome,
    Recipient,
    Report,
    Sent,
    personalise,
    retry_after,
    seen_through,
    tell,
)
from notifier.delivery.channels.twilio_errors import AUTH_CODES, RATE_LIMITED, twilio_error
from notifier.delivery.pauses import Pause
from notifier.delivery.ratelimit import SharedRateLimit
from notifier.delivery.sms_segments import segments
from notifier.statuses import ChannelName

log = logging.getLogger(__name__)


class TwilioSms:
    """The ``sms`` channel: one Twilio Messages API call per recipient, at most
    ``concurrency`` at once and ``limit`` a second across workers; each call at most
    ``timeout`` seconds. Once Twilio refuses our credentials, no further call is made
    in that batch (its other recipients get the same ``alert_ops`` outcome); while
    Twilio refuses everyone (429, 5xx: ``pause``), no call is made by any worker."""

    name: str = ChannelName.sms

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        status_callback: str,
        limit: SharedRateLimit,
        timeout: float,
        concurrency: int,
        pause: Pause | None = None,
    ) -> None:
        # Twilio's own client must not retry: a retried POST after a 5xx can send twice.
        self._http = AsyncTwilioHttpClient(max_retries=None)
        self._pause = pause
        sid, token = settings.account_sid, settings.auth_token.get_secret_value()
        base = str(settings.base_url).rstrip("/")
        self._url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        # The library's headers (User-Agent, Accept, form Content-Type) and its Basic
        # auth (account SID and token), once rather than per text.
        auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
        self._headers = {
            **Client(sid, token, http_client=self._http).get_headers("POST", None),
            "Authorization": f"Basic {auth}",
        }
        # What every text's form shares: our sender and the status callback.
        sender = (
            {"MessagingServiceSid": settings.messaging_service_sid}
            if settings.messaging_service_sid
            else {"From": settings.from_number}
        )
        self._form_tail = "&" + urlencode({**sender, "StatusCallback": status_callback})
        self._limit = limit
        self._timeout = timeout
        self._concurrency = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        """Close the HTTP client's session."""
        await self._http.close()

    async def send(
        self, content: Content, recipients: Sequence[Recipient], report: Report | None = None
    ) -> list[Outcome]:
        """See ``Channel.send``: one outcome per recipient, in order; raises what
        ``report`` raises (calls not yet made are then cancelled)."""
        # A task group, not gather: if recording an outcome fails, the calls not yet made
        # are cancelled rather than left running with nobody to record them.
        refused: list[DeliveryError] = []  # our credentials, once Twilio refused them
        if self._pause is not None:
            await self._pause.until()  # another worker's pause, once a batch
        try:
            async with asyncio.TaskGroup() as group:
                calls = [
                    group.create_task(self._one(content, r, report, refused)) for r in recipients
                ]
        except ExceptionGroup as failed:  # the first says what went wrong
            raise failed.exceptions[0] from None
        return [call.result() for call in calls]

    async def _one(
        self,
        content: Content,
        recipient: Recipient,
        report: Report | None,
        refused: list[DeliveryError],
    ) -> Outcome:
        text = personalise(content, recipient).text
        async with self._concurrency:
            if not refused:
                await self._limit.acquire()
            until = self._pause.known() if self._pause is not None else None
            if refused:
                # No call can succeed with credentials Twilio refused: the rest of the
                # batch is parked with the first refusal, unsent (``parking``).
                outcome: Outcome = refused[0]
                await tell(report, [(recipient, outcome)])
                return outcome
            if until is not None:  # Twilio refuses everyone: wait with the others
                outcome = DeliveryError(
                    "Twilio refusing everyone", permanent=False, paused_until=until
                )
                await tell(report, [(recipient, outcome)])
                return outcome
            # Once made, a call is answered and recorded even if the batch is cancelled
            # meanwhile (a stopping worker): those not yet made are cancelled unsent.
            return await seen_through(self._made(recipient, text, report, refused))

    async def _made(
        self,
        recipient: Recipient,
        text: str,
        report: Report | None,
        refused: list[DeliveryError],
    ) -> Outcome:
        outcome = await self._call(recipient.address, text)
        if isinstance(outcome, DeliveryError) and outcome.alert_ops:
            refused.append(outcome)
        # Recorded before the slot is free: unrecorded calls never outnumber the slots.
        await tell(report, [(recipient, outcome)])
        return outcome

    @metrics.timed("twilio")
    async def _call(self, to: str, text: str) -> Outcome:
        # The form as aiohttp would encode it (application/x-www-form-urlencoded, UTF-8).
        form = f"To={quote_plus(to)}&Body={quote_plus(text)}{self._form_tail}".encode()
        try:
            # The twilio client ignores its own timeout setting.
            async with asyncio.timeout(self._timeout):
                response = await self._http.request(
                    "POST", self._url, data=form, headers=self._headers
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            return DeliveryError(f"Twilio unreachable: {type(exc).__name__}", permanent=False)
        status: int = response.status_code
        if 200 <= status < 300:
            # A 2xx answer is the message resource; only its ``sid`` is kept.
            return Sent(
                provider_id=str(orjson.loads(response.text)["sid"]), segments=segments(text)
            )
        error = _error(
            status, _code(response.text), retry_after(response.headers.get("Retry-After"))
        )
        if self._pause is not None and (status == 429 or status >= 500):
            await self._pause.pause(error.retry_after)
        return error


def _code(body: str) -> int | None:
    """Twilio's error ``code`` in an error answer's JSON body (``{"code": 21610,
    "message": ..., "status": 400, ...}``; RFC 9457 problems carry ``code`` too); None
    when the body has none or is not JSON (a proxy's page)."""
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _error(status: int, code: int | None, wait: float | None = None) -> DeliveryError:
    """Map a Twilio error answer (HTTP ``status``, Twilio ``code`` if the body had one)
    to a DeliveryError: 429 and 5xx transient, after the answer's ``Retry-After``
    (``wait``, seconds) if it had one; credentials refused transient for ops to fix; a
    code in ``TWILIO_ERRORS`` as it says there; any other answer permanent."""
    code = code or 0
    reason = f"Twilio error {code or status}"
    if status == 429 or code == RATE_LIMITED or status >= 500:
        return DeliveryError(reason, permanent=False, retry_after=wait)
    if status in (401, 403) or code in AUTH_CODES:
        log.error("Twilio refused our credentials (%s): check FOREWARN_TWILIO__*", code)
        return DeliveryError(reason, permanent=False, alert_ops=True, retry_after=300)
    known = twilio_error(code)
    if known is not None and not known.permanent:
        return DeliveryError(reason, permanent=False)
    return DeliveryError(reason, permanent=True, suppress=known.suppress if known else None)
