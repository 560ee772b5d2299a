"""A sign-up's one message: the confirmation (link and code) or, for an address
already subscribed, its manage link; sent once by an arq job after the commit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from notifier.delivery.channels.base import (
    Channel,
    Content,
    DeliveryError,
    Outcome,
    Recipient,
    Sent,
)
from notifier.delivery.rendering import render
from notifier.signup.confirmation import CONFIRM, code_for
from notifier.statuses import SuppressionReason
from notifier.tables import Signup, Suppression

log = logging.getLogger(__name__)

# Suppressions a confirmation message would only make worse; "unsubscribe" and "stop"
# are no reason to refuse someone who asks to come back.
BLOCKING = (SuppressionReason.bounce, SuppressionReason.spam_report, SuppressionReason.invalid)


def _event(row: Signup) -> str:
    return "signup_confirm" if row.kind == CONFIRM else "signup_already"


def compose(row: Signup, settings: Settings) -> tuple[Content, Recipient]:
    """The rendered message of a sign-up and its recipient (delivery id 0).

    A ``confirm`` row gets the confirm link (expiring token), the SMS code and an
    unsubscribe that withdraws the sign-up; an ``already`` row gets the manage link
    and an ordinary unsubscribe. The unsubscribe URL is the ``List-Unsubscribe``
    (RFC 8058) of the email.
    """
    secret = settings.secret_key.get_secret_value()
    public = str(settings.public_url).rstrip("/")
    logo = settings.brand_logo_url
    context: dict[str, Any] = {
        "page_name": settings.page_name,
        "url": public + "/",
        "hours": f"{settings.subscribe.pending_expiry_hours:g}",
        # The HTML part wears the page's brand, as every notification email does.
        "brand_color": settings.brand_color,
        "brand_logo_url": str(logo) if logo else None,
        "company_url": str(settings.company_url) if settings.company_url else None,
    }
    if row.kind == CONFIRM:
        context["confirm_url"] = (
            f"{public}/subscribe/confirm/{links.dumps(secret, 'confirm', row.id)}"
        )
        context["code"] = code_for(secret, row.id)
        # A confirmation's 'unsubscribe' (the mail client's button) withdraws the sign-up.
        unsubscribe = links.sign(secret, "cancel-signup", row.id)
    else:
        assert row.customer_id is not None
        manage = links.manage_token(secret, row.customer_id, row.channel)
        context["manage_url"] = f"{public}/manage/{manage}"
        unsubscribe = links.sign(secret, "unsubscribe", f"{row.customer_id}:{row.channel}")
    content = render(_event(row), row.channel, row.locale, context)
    # Delivery id 0: no delivery row, so provider events about it match none.
    recipient = Recipient(
        0, row.address, {"unsubscribe_url": f"{public}/unsubscribe/{unsubscribe}"}
    )
    return content, recipient


async def send_message(
    sessions: async_sessionmaker[AsyncSession],
    channels: Mapping[str, Channel],
    settings: Settings,
    signup_id: str,
    *,
    now: datetime,
) -> Outcome | None:
    """Send a sign-up's message once; None if there is nothing (more) to send."""
    async with sessions() as session:
        row = await session.get(Signup, signup_id)
        if row is None or row.sent_at is not None or row.expires_at <= now:
            return None
        blocked = await session.scalar(
            select(Suppression.reason).where(
                Suppression.channel == row.channel,
                Suppression.address == row.address,
                Suppression.reason.in_(BLOCKING),
            )
        )
    if blocked:
        outcome: Outcome = DeliveryError.suppressed_address(blocked)
    else:
        content, recipient = compose(row, settings)
        [outcome] = await channels[row.channel].send(content, [recipient])
    if isinstance(outcome, Sent) or outcome.permanent:
        async with sessions() as session, session.begin():
            await session.execute(
                update(Signup)
                .where(Signup.id == signup_id, Signup.sent_at.is_(None))
                .values(sent_at=now)
            )
    if isinstance(outcome, Sent):
        log.info("sign-up %s: %s message sent by %s", row.id, row.kind, row.channel)
    else:
        log.warning("sign-up %s: %s message by %s: %s", row.id, row.kind, row.channel, outcome)
    return outcome
