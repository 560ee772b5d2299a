"""Email through SendGrid's v3 mail/send: one request carries up to 1,000 recipients."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from config import SendGridSettings
from notifier.control_characters import one_line
from notifier.delivery import metrics
from notifier.delivery.channels.base import (
    SUBSTITUTED,
    Content,
    DeliveryError,
    Outcome,
    Recipient,
    Report,
    Sent,
    retry_after,
    seen_through,
    tell,
    token,
)
from notifier.delivery.pauses import Pause
from notifier.statuses import ChannelName, SuppressionReason

log = logging.getLogger(__name__)
_PERSONALIZATION = re.compile(r"^personalizations\.(\d+)")


class SendGridEmail:
    """The ``email`` channel: SendGrid's v3 Mail Send API, one request per batch (at most 1,000
    personalizations), per-recipient values substituted by SendGrid. While SendGrid
    refuses everyone (429, 5xx: ``pause``), no request is made."""

    name: str = ChannelName.email

    def __init__(
        self,
        settings: SendGridSettings,
        http: aiohttp.ClientSession,
        *,
        from_name: str,
        timeout: float,
        pause: Pause | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._from_name = one_line(from_name)  # a header (From), like the subject
        self._timeout = timeout
        self._pause = pause
        self._url = str(settings.base_url).rstrip("/") + "/v3/mail/send"

    def body(self, content: Content, recipients: Sequence[Recipient]) -> dict[str, Any]:
        """The v3 request body; per-recipient values travel as substitutions."""
        # Only the tokens content carries (times in their zone among them), looked for
        # once per request: every other value would be bytes in each of a request's
        # 1,000 personalizations.
        carried = _carried(content)
        return {
            "personalizations": [
                {
                    "to": [{"email": r.address}],
                    "substitutions": _substitutions(r.values, carried),
                    # Maps SendGrid's event webhooks back to our delivery row.
                    "custom_args": {"delivery_id": str(r.delivery_id)},
                    # RFC 8058 one-click unsubscribe.
                    "headers": {
                        "List-Unsubscribe": f"<{r.values['unsubscribe_url']}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                }
                for r in recipients
            ],
            "from": {"email": self._settings.from_email, "name": self._from_name},
            "subject": content.subject,
            "content": [
                {"type": "text/plain", "value": content.text},
                {"type": "text/html", "value": content.html},
            ],
            # Rewritten links would leak who clicked what to a tracker; keep them as written.
            "tracking_settings": {
                "click_tracking": {"enable": False, "enable_text": False},
                "open_tracking": {"enable": False},
            },
        }

    async def send(
        self, content: Content, recipients: Sequence[Recipient], report: Report | None = None
    ) -> list[Outcome]:
        """Send one batch in one request; see ``Channel.send``. A request made is seen
        through and recorded even if the batch is cancelled meanwhile (``seen_through``)."""
        return await seen_through(self._send(content, recipients, report))

    async def _send(
        self, content: Content, recipients: Sequence[Recipient], report: Report | None
    ) -> list[Outcome]:
        pending = list(recipients)
        outcomes: dict[int, Outcome] = {}
        until = await self._pause.until() if self._pause is not None else None
        if until is not None:  # the whole batch waits for it, and regroups then
            waiting = DeliveryError(
                "SendGrid refusing everyone", permanent=False, paused_until=until
            )
            await tell(report, [(r, waiting) for r in recipients])
            return [waiting for _ in recipients]
        # A 400 naming some recipients fails those; the others go again, once. Each
        # request's outcomes are reported as it returns, before the next one is made.
        for _ in range(2):
            try:
                sent = await self._post(content, pending)
            except _Rejected as rejected:
                refused = [r for i, r in enumerate(pending) if i in rejected.indexes]
                outcomes.update((r.delivery_id, rejected) for r in refused)
                await tell(report, [(r, rejected) for r in refused])
                pending = [r for i, r in enumerate(pending) if i not in rejected.indexes]
                if pending:
                    continue
                break
            except DeliveryError as error:
                outcomes.update((r.delivery_id, error) for r in pending)
                await tell(report, [(r, error) for r in pending])
                break
            outcomes.update((r.delivery_id, sent) for r in pending)
            await tell(report, [(r, sent) for r in pending])
            break
        unsent = DeliveryError("SendGrid rejected other recipients twice", permanent=False)
        return [outcomes.get(r.delivery_id, unsent) for r in recipients]

    @metrics.timed("sendgrid")
    async def _post(self, content: Content, recipients: Sequence[Recipient]) -> Sent:
        headers = {
            "Authorization": f"Bearer {self._settings.api_key.get_secret_value()}",
            "Content-Type": "application/json",
        }
        # orjson: a thousand personalizations encode in a tenth of the json module's time.
        data = orjson.dumps(self.body(content, recipients))
        try:
            async with asyncio.timeout(self._timeout):
                async with self._http.post(self._url, data=data, headers=headers) as response:
                    if response.status == 202:
                        return Sent(provider_id=response.headers.get("X-Message-Id", ""))
                    payload = await _json(response)
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = f"SendGrid unreachable: {type(exc).__name__}"
            raise DeliveryError(reason, permanent=False) from None
        error = _error(response.status, response.headers, payload, len(recipients))
        if self._pause is not None and (response.status == 429 or response.status >= 500):
            await self._pause.pause(error.retry_after)
        raise error


def _carried(content: Content) -> list[tuple[str, str, bool]]:
    """The tokens ``content`` carries: (value name, token, whether HTML-escaped)."""
    said = "".join((content.subject, content.text, content.html))
    return [
        (name, tag, escaped)
        for name in SUBSTITUTED
        for escaped in (False, True)
        if (tag := token(name, html_part=escaped)) in said
    ]


def _substitutions(values: dict[str, str], carried: list[tuple[str, str, bool]]) -> dict[str, str]:
    """Token -> value for the ``carried`` tokens this recipient has a value for, as
    ``Recipient.substitutions`` writes them (the ``_html`` ones escaped)."""
    return {
        tag: html.escape(values[name]) if escaped else values[name]
        for name, tag, escaped in carried
        if name in values
    }


class _Rejected(DeliveryError):
    """SendGrid refused some recipients of the request by their position."""

    def __init__(self, reason: str, indexes: set[int]) -> None:
        super().__init__(reason, permanent=True, suppress=SuppressionReason.invalid)
        self.indexes = indexes


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await response.json(content_type=None)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error(status: int, headers: Any, payload: dict[str, Any], count: int) -> DeliveryError:
    """Map a SendGrid answer to a DeliveryError (one place for all of them)."""
    if status == 429 or status >= 500:
        return DeliveryError(
            f"SendGrid answered {status}", permanent=False, retry_after=_retry_after(headers)
        )
    if status in (401, 403):
        log.error("SendGrid refused our API key (%d): check FOREWARN_SENDGRID__API_KEY", status)
        return DeliveryError(
            f"SendGrid refused our credentials ({status})",
            permanent=False,
            alert_ops=True,
            retry_after=300,
        )
    errors = [e for e in payload.get("errors", []) if isinstance(e, dict)]
    fields = [str(e.get("field") or "") for e in errors]
    indexes = {int(m.group(1)) for f in fields if (m := _PERSONALIZATION.match(f))}
    reason = f"SendGrid rejected the message ({status}): {', '.join(f for f in fields if f)}"
    indexes = {i for i in indexes if i < count}
    if indexes:
        return _Rejected(reason, indexes)
    return DeliveryError(reason, permanent=True)


def _retry_after(headers: Any) -> float | None:
    if (seconds := retry_after(headers.get("Retry-After"))) is not None:
        return seconds
    if value := headers.get("X-RateLimit-Reset"):
        try:
            return max(0.0, float(value) - time.time())
        except ValueError:
            return None
    return None
