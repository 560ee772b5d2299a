"""What providers tell us after a send: delivery receipts, bounces, STOP replies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import signup, subscribers
from notifier.delivery import fallback, metrics
from notifier.delivery.channels.twilio_errors import twilio_error
from notifier.delivery.fanout import insert_ignoring_duplicates
from notifier.statuses import ChannelName, DeliveryStatus, SuppressionReason
from notifier.tables import Consent, Customer, Delivery, ProviderEvent, Suppression
from notifier.tables.customers import address_column

# Later states never go back to earlier ones (callbacks arrive out of order). A status
# not here (suppressed) ranks 0: a callback may still move it.
_RANK: dict[str, int] = {
    DeliveryStatus.pending: 0,
    DeliveryStatus.sending: 1,
    DeliveryStatus.sent: 2,
    DeliveryStatus.delivered: 3,
    DeliveryStatus.failed: 3,
    DeliveryStatus.bounced: 3,
}

STOP_WORDS = {
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
    "停止",
    "配信停止",
}
START_WORDS = {"START", "YES", "UNSTOP", "再開"}
# A reply that confirms a pending SMS sign-up (YES also opts in again, as START does).
CONFIRM_WORDS = {"YES", "はい"}
HELP_WORDS = {"HELP", "INFO", "ヘルプ"}


async def _move(
    session: AsyncSession,
    delivery: Delivery,
    status: DeliveryStatus,
    *,
    error: str | None,
    now: datetime,
) -> bool:
    if _RANK.get(status, 0) < _RANK.get(delivery.status, 0):
        return False
    delivery.status = status
    metrics.count([(delivery.channel, status)])
    if status == DeliveryStatus.delivered:
        delivery.delivered_at = now
    if error:
        delivery.last_error = error
    return True


async def suppress(
    session: AsyncSession,
    channel: ChannelName,
    address: str,
    reason: SuppressionReason,
    *,
    now: datetime,
) -> None:
    """Put ``address`` on ``channel``'s suppression list for ``reason`` (a no-op if it
    is there already, whatever the reason it was put there for)."""
    await session.execute(
        insert_ignoring_duplicates(session, Suppression),
        [{"channel": channel, "address": address, "reason": reason, "created_at": now}],
    )


async def twilio_status(
    session: AsyncSession, message_sid: str, status: str, error_code: int | None, *, now: datetime
) -> list[tuple[int, str, str]] | None:
    """Apply a Twilio status callback; None if the message is not ours, else the
    deliveries it made due now (as ``fallback.advance``: to enqueue once committed).

    An undelivered or failed text whose ``ErrorCode`` says the number cannot get texts
    (a permanent code of ``TWILIO_ERRORS``: unknown number, landline, opted out) goes on
    by its next channel, as a send refused with that code does (``fallback``), in this
    transaction: no worker to be killed in between. A passing code (30003, a handset
    off), one about our message or sender rather than the number (30007, filtered), or
    one not in the table (30008, unknown) does not: the number may well get the next.
    """
    delivery = await session.scalar(
        select(Delivery).where(
            Delivery.channel == ChannelName.sms, Delivery.provider_id == message_sid
        )
    )
    if delivery is None:
        return None
    made: list[tuple[int, str, str]] = []
    # Twilio's MessageStatus values: https://www.twilio.com/docs/messaging/api/message-resource
    if status == "delivered":
        await _move(session, delivery, DeliveryStatus.delivered, error=None, now=now)
    elif status in ("failed", "undelivered"):
        moved = await _move(
            session,
            delivery,
            DeliveryStatus.failed,
            error=f"carrier: {status} {error_code or ''}".strip(),
            now=now,
        )
        verdict = twilio_error(error_code)
        customer = await session.get(Customer, delivery.customer_id)
        if verdict and verdict.suppress and customer is not None and customer.phone:
            await suppress(session, ChannelName.sms, customer.phone, verdict.suppress, now=now)
        if moved and verdict and verdict.permanent:
            made = await fallback.after_failures(session, [delivery.id], now=now)
    return made


async def inbound_sms(session: AsyncSession, phone: str, text: str, *, now: datetime) -> str:
    """Handle an inbound SMS keyword; returns 'stop', 'start', 'confirm', 'help' or 'other'."""
    word = text.strip().upper().rstrip(".!\u3002\uff01")  # also the full-width 。 and !
    confirmed = word in CONFIRM_WORDS and await signup.confirm_by_reply(session, phone, now=now)
    if word in STOP_WORDS:
        await suppress(session, ChannelName.sms, phone, SuppressionReason.stop, now=now)
        for customer_id in await _customers_with(session, ChannelName.sms, phone):
            await subscribers.revoke(session, customer_id, ChannelName.sms, now=now)
        return "stop"
    if word in START_WORDS:
        await session.execute(
            delete(Suppression).where(
                Suppression.channel == ChannelName.sms,
                Suppression.address == phone,
                Suppression.reason == SuppressionReason.stop,
            )
        )
        # Consent they withdrew by STOP comes back; nobody is opted in who never was.
        await session.execute(
            update(Consent)
            .where(
                Consent.channel == ChannelName.sms,
                Consent.customer_id.in_(await _customers_with(session, ChannelName.sms, phone)),
                Consent.revoked_at.is_not(None),
            )
            .values(revoked_at=None)
        )
    if confirmed:
        return "confirm"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return "other"


async def _customers_with(session: AsyncSession, channel: ChannelName, address: str) -> list[str]:
    found = await session.scalars(select(Customer.id).where(address_column(channel) == address))
    return list(found.all())


async def first_time(session: AsyncSession, provider: str, event_id: str, *, now: datetime) -> bool:
    """Record an event id; False if it was seen before (providers redeliver)."""
    result = await session.execute(
        insert_ignoring_duplicates(session, ProviderEvent).returning(ProviderEvent.id),
        [{"provider": provider, "event_id": event_id, "received_at": now}],
    )
    return result.first() is not None


async def sendgrid_events(
    session: AsyncSession, events: Iterable[dict[str, Any]], *, now: datetime
) -> int:
    """Apply SendGrid event webhook events; returns how many were new."""
    applied = 0
    for event in events:
        event_id = str(event.get("sg_event_id") or "")
        if not event_id or not await first_time(session, "sendgrid", event_id, now=now):
            continue
        applied += 1
        kind = str(event.get("event") or "")
        address = str(event.get("email") or "").lower()
        delivery = None
        if str(event.get("delivery_id") or "").isdigit():
            delivery = await session.get(Delivery, int(event["delivery_id"]))
        if kind == "delivered" and delivery is not None:
            await _move(session, delivery, DeliveryStatus.delivered, error=None, now=now)
        elif kind in ("bounce", "dropped"):
            reason = str(event.get("reason") or event.get("type") or kind)[:200]
            if delivery is not None:
                status = DeliveryStatus.bounced if kind == "bounce" else DeliveryStatus.failed
                await _move(session, delivery, status, error=f"{kind}: {reason}", now=now)
            if address and (
                kind == "bounce" or "bounced" in reason.lower() or "invalid" in reason.lower()
            ):
                await suppress(
                    session, ChannelName.email, address, SuppressionReason.bounce, now=now
                )
        elif kind in ("spamreport", "unsubscribe", "group_unsubscribe") and address:
            suppression = (
                SuppressionReason.spam_report
                if kind == "spamreport"
                else SuppressionReason.unsubscribe
            )
            await suppress(session, ChannelName.email, address, suppression, now=now)
            for customer_id in await _customers_with(session, ChannelName.email, address):
                await subscribers.revoke(session, customer_id, ChannelName.email, now=now)
    return applied
