"""Ops on call: a reminder before a promised update is due, an alert when one was broken,
and (composed by ``notifier.care.follow_ups``, sent by ``tell``) a low rating to follow up.

Everyone in ``FOREWARN_ON_CALL__*`` hears it: the emails and E.164 numbers through the
same email and SMS channels as customers' messages (SendGrid and Twilio, or the dev
outbox in development; delivery id 0, no delivery row), and the webhook as a JSON POST.

The webhook's request: ``POST`` with ``Content-Type: application/json`` and the header
``X-Forewarn-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body bytes keyed by
``FOREWARN_ON_CALL__WEBHOOK_SECRET`` (UTF-8); compare it in constant time. The body::

    {"type": "promise.reminder" | "promise.broken",
     "id": "promise-<promise id>-<reminder|broken>",   # the same on a retry: dedupe by it
     "sent_at": "<RFC 3339>", "due_at": "<RFC 3339>", "broken_promises": <int>,
     "incident": {"id", "title", "status", "impact", "url"}}

A new follow-up's body is ``{"type": "follow_up.opened", "id": "follow-up-<id>", ...}``
(``notifier.care.follow_ups.payload`` lists its fields).

A timeout, a connection error, 408, 429 or 5xx is tried again (``ATTEMPTS`` in all,
exponential backoff from ``FOREWARN_DELIVERY__RETRY_BASE_SECONDS``, a ``Retry-After``
honoured up to ``MAX_WAIT`` seconds); any other answer is final, 2xx a success. Email and
SMS transient failures are tried again the same way. Log lines never carry an address, a
number or the webhook URL (which often holds a token): only counts and reasons.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import aiohttp

from config import Settings
from notifier.delivery.channels.base import Channel, Content, DeliveryError, Recipient, Sent
from notifier.promises import Due
from notifier.statuses import ChannelName

log = logging.getLogger(__name__)
ATTEMPTS = 4
MAX_WAIT = 30.0
SIGNATURE_HEADER = "X-Forewarn-Signature"
Kind = Literal["reminder", "broken"]


def signature(secret: str, body: bytes) -> str:
    """The ``X-Forewarn-Signature`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def compose(due: Due, kind: Kind, settings: Settings) -> tuple[Content, Content]:
    """(email, SMS) content of one alert, in English, times in the page's zone."""
    zone = ZoneInfo(settings.page_time_zone)
    at = due.due_at.astimezone(zone)
    url = _incident_url(settings, due.incident_id)
    what = f'"{due.title}" ({due.impact}, {due.status})'
    if kind == "reminder":
        subject = f"[{settings.page_name}] Update due by {at:%H:%M %Z}: {due.title}"
        line = f"Reminder: the next update on {what} is promised by {at:%Y-%m-%d %H:%M %Z}."
        sms = f"{settings.page_name}: update on {what} due by {at:%H:%M %Z}. {url}"
    else:
        subject = f"[{settings.page_name}] Promise broken: {due.title}"
        line = (
            f"The update on {what} promised by {at:%Y-%m-%d %H:%M %Z} was not posted. "
            f"Broken promises on this incident: {due.broken}."
        )
        sms = f"{settings.page_name}: promised update on {what} missed ({at:%H:%M %Z}). {url}"
    text = f"{line}\n\nPost it now: {url}\n"
    page = f'<p>{html.escape(line)}</p><p><a href="{html.escape(url)}">{html.escape(url)}</a></p>'
    return Content(subject=subject, text=text, html=page), Content(subject="", text=sms)


def payload(due: Due, kind: Kind, settings: Settings, *, now: datetime) -> bytes:
    """The webhook body of one alert (see the module's docstring), as sent and signed."""
    body = {
        "type": f"promise.{kind}",
        "id": f"promise-{due.promise_id}-{kind}",
        "sent_at": now.isoformat(),
        "due_at": due.due_at.isoformat(),
        "broken_promises": due.broken,
        "incident": {
            "id": due.incident_id,
            "title": due.title,
            "status": due.status,
            "impact": due.impact,
            "url": _incident_url(settings, due.incident_id),
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def alert(
    channels: Mapping[str, Channel],
    http: aiohttp.ClientSession,
    settings: Settings,
    due: Due,
    kind: Kind,
    *,
    now: datetime,
) -> dict[str, int]:
    """Tell everyone on call about ``due``; -> how many of them got it, by channel
    (``email``, ``sms``, ``webhook``). Never raises for a failed send: it is logged."""
    email, sms = compose(due, kind, settings)
    body = payload(due, kind, settings, now=now)
    sent = await tell(channels, http, settings, email, sms, body)
    log.info("on-call %s of promise %d: sent %s", kind, due.promise_id, sent)
    return sent


async def tell(
    channels: Mapping[str, Channel],
    http: aiohttp.ClientSession,
    settings: Settings,
    email: Content,
    sms: Content,
    body: bytes,
) -> dict[str, int]:
    """Send one alert to everyone on call: ``email`` to the emails, ``sms`` to the numbers,
    ``body`` (JSON, signed as the module says) to the webhook; -> how many got it, by
    channel. Never raises for a failed send: it is logged. Other alerts (a follow-up of a
    low rating) compose their own contents and come through here."""
    on_call = settings.on_call
    public = str(settings.public_url).rstrip("/") + "/"
    # The SendGrid channel sets List-Unsubscribe from it; ops change the settings instead.
    values = {"unsubscribe_url": public, "manage_url": public, "greeting": "", "url": public}
    sent: dict[str, int] = {}
    wait = settings.delivery.retry_base_seconds
    jobs = []
    for name, content, addresses in (
        (str(ChannelName.email), email, on_call.emails),
        (str(ChannelName.sms), sms, on_call.numbers),
    ):
        if addresses:
            recipients = [Recipient(0, a, dict(values)) for a in addresses]
            jobs.append(_by_channel(channels[name], content, recipients, wait))
    if on_call.webhook_url is not None:
        jobs.append(_by_webhook(http, settings, body, wait))
    for target, count in await asyncio.gather(*jobs):
        sent[target] = count
    return sent


async def _by_channel(
    channel: Channel, content: Content, recipients: Sequence[Recipient], wait: float
) -> tuple[str, int]:
    pending, done = list(recipients), 0
    for attempt in range(ATTEMPTS):
        outcomes = await channel.send(content, pending)
        done += sum(isinstance(o, Sent) for o in outcomes)
        failed = [(r, o) for r, o in zip(pending, outcomes, strict=True) if not isinstance(o, Sent)]
        for _, error in failed:
            log.warning("on-call %s message failed: %s", channel.name, error)
        pending = [r for r, o in failed if isinstance(o, DeliveryError) and _transient(o)]
        if not pending or attempt == ATTEMPTS - 1:
            break
        retry_after = max((o.retry_after or 0.0 for _, o in failed), default=0.0)
        await asyncio.sleep(min(MAX_WAIT, max(retry_after, wait * 2**attempt)))
    return channel.name, done


def _transient(error: DeliveryError) -> bool:
    return not error.permanent and not error.alert_ops


async def _by_webhook(
    http: aiohttp.ClientSession, settings: Settings, body: bytes, wait: float
) -> tuple[str, int]:
    on_call = settings.on_call
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(on_call.webhook_secret.get_secret_value(), body),
    }
    timeout = settings.delivery.provider_timeout_seconds
    for attempt in range(ATTEMPTS):
        retry_after = 0.0
        try:
            async with asyncio.timeout(timeout):
                async with http.post(str(on_call.webhook_url), data=body, headers=headers) as r:
                    if 200 <= r.status < 300:
                        return "webhook", 1
                    reason = f"answered {r.status}"
                    if r.status not in (408, 429) and r.status < 500:
                        log.warning("on-call webhook refused the alert: %s", reason)
                        return "webhook", 0
                    retry_after = _seconds(r.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = f"unreachable: {type(exc).__name__}"
        log.warning("on-call webhook %s (attempt %d of %d)", reason, attempt + 1, ATTEMPTS)
        if attempt < ATTEMPTS - 1:
            await asyncio.sleep(min(MAX_WAIT, max(retry_after, wait * 2**attempt)))
    return "webhook", 0


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


def _incident_url(settings: Settings, incident_id: str) -> str:
    return f"{str(settings.public_url).rstrip('/')}/incidents/{incident_id}"
