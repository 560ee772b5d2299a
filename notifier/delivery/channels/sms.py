"""SMS through Twilio's REST API with the ``twilio`` library's async client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
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
# The Retry-After of the last answer in this task (each call is a task of its own):
# twilio's exception carries no headers, so the session's trace keeps it here.
_RETRY_AFTER: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)


async def _keep_retry_after(
    _session: aiohttp.ClientSession, _context: object, params: aiohttp.TraceRequestEndParams
) -> None:
    _RETRY_AFTER.set(retry_after(params.response.headers.get("Retry-After")))


def _tracing() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_keep_retry_after)
    return trace


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
        self._settings = settings
        # Twilio's own client must not retry: a retried POST after a 5xx can send twice.
        self._http = AsyncTwilioHttpClient(max_retries=None, trace_configs=[_tracing()])
        self._pause = pause
        self._client = Client(
            settings.account_sid, settings.auth_token.get_secret_value(), http_client=self._http
        )
        self._client.api.base_url = str(settings.base_url).rstrip("/")
        self._status_callback = status_callback
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
        sender: dict[str, Any] = (
            {"messaging_service_sid": self._settings.messaging_service_sid}
            if self._settings.messaging_service_sid
            else {"from_": self._settings.from_number}
        )
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
            return await seen_through(self._made(recipient, text, sender, report, refused))

    async def _made(
        self,
        recipient: Recipient,
        text: str,
        sender: dict[str, Any],
        report: Report | None,
        refused: list[DeliveryError],
    ) -> Outcome:
        outcome = await self._call(recipient.address, text, sender)
        if isinstance(outcome, DeliveryError) and outcome.alert_ops:
            refused.append(outcome)
        # Recorded before the slot is free: unrecorded calls never outnumber the slots.
        await tell(report, [(recipient, outcome)])
        return outcome

    @metrics.timed("twilio")
    async def _call(self, to: str, text: str, sender: dict[str, Any]) -> Outcome:
        _RETRY_AFTER.set(None)
        try:
            # The twilio client ignores its own timeout setting.
            async with asyncio.timeout(self._timeout):
                message = await self._client.messages.create_async(
                    to=to, body=text, status_callback=self._status_callback, **sender
                )
        except TwilioRestException as exc:
            error = _error(exc, _RETRY_AFTER.get())
            if self._pause is not None and (exc.status == 429 or exc.status >= 500):
                await self._pause.pause(error.retry_after)
            return error
        except (TimeoutError, aiohttp.ClientError) as exc:
            return DeliveryError(f"Twilio unreachable: {type(exc).__name__}", permanent=False)
        return Sent(provider_id=str(message.sid), segments=segments(text))


def _error(exc: TwilioRestException, wait: float | None = None) -> DeliveryError:
    """Map a Twilio error to a DeliveryError: 429 and 5xx transient, after the answer's
    ``Retry-After`` (``wait``, seconds) if it had one; credentials refused transient for
    ops to fix; a code in ``TWILIO_ERRORS`` as it says there; any other 4xx permanent."""
    code = exc.code or 0
    reason = f"Twilio error {code or exc.status}"
    if exc.status == 429 or code == RATE_LIMITED or exc.status >= 500:
        return DeliveryError(reason, permanent=False, retry_after=wait)
    if exc.status in (401, 403) or code in AUTH_CODES:
        log.error("Twilio refused our credentials (%s): check FOREWARN_TWILIO__*", code)
        return DeliveryError(reason, permanent=False, alert_ops=True, retry_after=300)
    known = twilio_error(code)
    if known is not None and not known.permanent:
        return DeliveryError(reason, permanent=False)
    return DeliveryError(reason, permanent=True, suppress=known.suppress if known else None)
