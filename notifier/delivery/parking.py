"""Parking: deliveries held because a provider refused our own credentials (HTTP 401 or
403), until ops fix them and resume.

A refusal of our credentials is no fault of the message or the address: retrying with
backoff would only fail every batch for the whole deadline (and then the audience),
and suppressing would burn the customers. So the batch stops at the first refusal, its
rows are ``parked`` (``notifier.delivery.outcomes.change``), ops are told at once (one
ERROR line naming the channel, and ``AUTH_FAILURES``), the sweeper and the sender leave
parked rows alone, and ``resume`` hands them back to the sender once the credentials
are fixed (``forewarn deliveries resume``). The sender's staleness rules still apply
then: a message past the delivery deadline (``deadline_minutes``), or a retry of an
update a newer one superseded, fails rather than goes out late.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier.statuses import DeliveryStatus
from notifier.tables import Delivery

log = logging.getLogger(__name__)

# In the process's default registry (issue 14 serves it as /metrics); alert on any
# increase. Counted once per batch parked, not per message: one refusal stops a batch.
AUTH_FAILURES = Counter(
    "forewarn_provider_auth_failures",
    "Batches parked because a provider refused our credentials (HTTP 401/403).",
    ["channel"],
)


def alert(channel: str, parked: int, reason: str) -> None:
    """Tell ops that a batch of ``parked`` deliveries on ``channel`` was parked because
    its provider refused our credentials: an ERROR line (the channel and the provider's
    reason, never an address) and ``AUTH_FAILURES`` + 1."""
    AUTH_FAILURES.labels(channel=channel).inc()
    log.error(
        "%s: the provider refused our credentials (%s); %d deliveries parked, not retried. "
        "Fix the credentials, then run: forewarn deliveries resume --channel %s",
        channel,
        reason,
        parked,
        channel,
    )


async def counts(session: AsyncSession) -> dict[str, int]:
    """Parked deliveries by channel: ``{"sms": 120}``; a channel with none is absent."""
    return await _counts_where(session, [Delivery.status == DeliveryStatus.parked])


async def _counts_where(
    session: AsyncSession, where: Sequence[ColumnElement[bool]]
) -> dict[str, int]:
    """Deliveries matching ``where``, counted by channel."""
    rows = await session.execute(
        select(Delivery.channel, func.count()).where(*where).group_by(Delivery.channel)
    )
    return {channel: count for channel, count in rows}


async def resume(
    session: AsyncSession,
    settings: DeliverySettings,
    *,
    now: datetime,
    channel: str | None = None,
) -> dict[str, int]:
    """Hand every parked delivery (of ``channel``, or of all channels) back to the
    sender, in the caller's transaction; returns how many by channel (``{"sms": 120}``).

    They become ``pending`` and due before the sweeper's grace, so its next pass (every
    15 s) enqueues them: the database alone says what is due, and this needs no Redis.
    Each is then sent, or failed by the sender's staleness rules."""
    where = [Delivery.status == DeliveryStatus.parked]
    if channel is not None:
        where.append(Delivery.channel == channel)
    resumed = await _counts_where(session, where)
    due = now - timedelta(seconds=settings.sweep_grace_seconds + 1)
    await session.execute(
        update(Delivery)
        .where(*where)
        .values(status=DeliveryStatus.pending, next_attempt_at=due)
        .execution_options(synchronize_session=False)
    )
    if resumed:
        log.info("resumed parked deliveries: %s", resumed)
    return resumed
