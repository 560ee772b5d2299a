"""Provider webhooks. Every request's signature is checked: a bad one gets 403 and
changes nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from notifier.care import replies
from notifier.db import utcnow
from notifier.delivery import provider_events
from notifier.delivery.fanout import batch_up
from status_page import enqueue, forms, keys

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    """Twilio's status callback and inbound SMS, and SendGrid's Event Webhook."""
    app.router.add_post("/webhooks/twilio/status", twilio_status)
    app.router.add_post("/webhooks/twilio/inbound", twilio_inbound)
    app.router.add_post("/webhooks/sendgrid/events", sendgrid_events)


def _forbidden(provider: str) -> web.HTTPForbidden:
    log.warning("refused a %s webhook with a missing or bad signature", provider)
    return web.HTTPForbidden(text="signature check failed")


async def _twilio_form(request: web.Request) -> dict[str, str]:
    """The form, if X-Twilio-Signature matches it and the public URL Twilio called."""
    token = request.app[keys.SETTINGS].twilio.auth_token.get_secret_value()
    form = dict(await forms.read_form(request))  # unreadable input: 400 before anything
    url = str(request.app[keys.SETTINGS].public_url).rstrip("/") + request.path_qs
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(url, form, signature):
        raise _forbidden("Twilio")
    return form


async def twilio_status(request: web.Request) -> web.Response:
    """Twilio's message status callback: record the SMS's new status (and error code),
    and send a text the carrier could not deliver for good by the customer's next channel
    (``provider_events.twilio_status``); 204.

    403 without a valid ``X-Twilio-Signature`` (Twilio's webhook security docs: HMAC-SHA1
    of the public URL and the form).
    """
    form = await _twilio_form(request)
    code = form.get("ErrorCode", "")
    async with request.app[keys.SESSIONS]() as session, session.begin():
        made = await provider_events.twilio_status(
            session,
            form.get("MessageSid", ""),
            form.get("MessageStatus", ""),
            int(code) if code.isdigit() else None,
            now=utcnow(),
        )
    if made is None:
        log.info("Twilio status for a message that is not ours")
    elif made:
        await enqueue.enqueue_batches(
            request.app, batch_up(made, request.app[keys.SETTINGS].delivery)
        )
    return web.Response(status=204)


async def twilio_inbound(request: web.Request) -> web.Response:
    """An SMS to our number: apply its keyword (STOP, START, HELP, or a sign-up's YES),
    else take it as the answer to an open rating prompt (``care.replies``); TwiML.

    HELP, a recorded score (thanks) and a first reply that is no score (how to answer)
    get a reply here: Twilio's own opt-out handling answers STOP and START. 403 without
    a valid ``X-Twilio-Signature``.
    """
    form = await _twilio_form(request)
    phone, text, now = form.get("From", ""), form.get("Body", ""), utcnow()
    rating = None
    async with request.app[keys.SESSIONS]() as session, session.begin():
        # Keywords first: STOP wins over a prompt waiting for its answer.
        keyword = await provider_events.inbound_sms(session, phone, text, now=now)
        if keyword == "other":
            hours = request.app[keys.SETTINGS].ratings.sms_reply_hours
            rating = await replies.sms_reply(session, phone, text, now=now, reply_hours=hours)
    log.info("inbound SMS keyword: %s", rating.outcome if rating else keyword)
    reply = MessagingResponse()
    if keyword == "help":
        name = request.app[keys.SETTINGS].page_name
        reply.message(f"{name} status alerts. Reply STOP to unsubscribe, START to resubscribe.")
    elif rating is not None and rating.text:
        reply.message(rating.text)
    # STOP and START: Twilio's own opt-out handling answers the customer.
    return web.Response(text=str(reply), content_type="application/xml")


async def sendgrid_events(request: web.Request) -> web.Response:
    """SendGrid's Event Webhook: apply a JSON array of delivery events (bounces, spam
    reports, deliveries; each once); 204.

    403 unless the Signed Event Webhook's ECDSA signature over timestamp and body
    verifies; 400 for a body that is not UTF-8 JSON or not an array.
    """
    key = request.app[keys.SETTINGS].sendgrid.webhook_public_key
    try:
        raw = (await request.read()).decode("utf-8")  # RFC 8259 §8.1: JSON is UTF-8
    except UnicodeDecodeError:
        raise forms.Undecodable from None
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    if (
        not key
        or not signature
        or not timestamp
        or not _sendgrid_valid(key, raw, signature, timestamp)
    ):
        raise _forbidden("SendGrid")
    try:
        events: Any = json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(events, list):
        raise web.HTTPBadRequest(text="expected a JSON array of events")
    async with request.app[keys.SESSIONS]() as session, session.begin():
        applied = await provider_events.sendgrid_events(
            session, (e for e in events if isinstance(e, dict)), now=utcnow()
        )
    log.info("SendGrid events: %d received, %d new", len(events), applied)
    return web.Response(status=204)


def _sendgrid_valid(key: str, raw: str, signature: str, timestamp: str) -> bool:
    try:
        webhook = EventWebhook(key)
        return bool(webhook.verify_signature(raw, signature, timestamp))
    except (ValueError, TypeError):  # a malformed key or signature is simply not valid
        return False
