"""The delivery engine's Prometheus figures (``/metrics``; ``notifier.metrics`` says
where they are kept). Counted where outcomes are recorded, a batch at a time: one
``inc(n)`` per (channel, outcome) of a batch, never one call per delivery.

Every figure has labels: a labelled figure keeps its values from its first use, after
``notifier.metrics.share`` chose where (an unlabelled one would from import). The
fan-out histogram, which needs none, is made at its first use for the same reason.
"""

from __future__ import annotations

import functools
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar

from prometheus_client import Counter, Histogram
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.statuses import DeliveryStatus
from notifier.tables import Delivery

_P = ParamSpec("_P")
_R = TypeVar("_R")

DELIVERIES = Counter(
    "forewarn_deliveries",
    "Delivery outcomes by channel: sent, delivered, failed, bounced, suppressed, parked, "
    "held, folded, and retried (a transient error; tried again later).",
    ["channel", "outcome"],
)
FANNED_OUT = Counter(
    "forewarn_fanout_deliveries",
    "Deliveries fan-outs queued to send (one per recipient and channel); those "
    "suppressed at once count in forewarn_deliveries_total.",
    ["channel"],
)
PROVIDER_SECONDS = Histogram(
    "forewarn_provider_request_seconds",
    "Provider API requests (SendGrid: one per email batch; Twilio: one per text), seconds.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# A recorded state -> the outcome it counts as (``sending`` is no outcome).
OUTCOMES: Mapping[str, str] = {
    DeliveryStatus.sent: "sent",
    DeliveryStatus.delivered: "delivered",
    DeliveryStatus.failed: "failed",
    DeliveryStatus.bounced: "bounced",
    DeliveryStatus.suppressed: "suppressed",
    DeliveryStatus.parked: "parked",
    DeliveryStatus.held: "held",
    DeliveryStatus.folded: "folded",
    DeliveryStatus.pending: "retried",
}


class _OnChannel(Protocol):
    @property
    def channel(self) -> str: ...


class _Batched(Protocol):
    @property
    def channel(self) -> str: ...

    @property
    def delivery_ids(self) -> list[int]: ...


def count(outcomes: Iterable[tuple[str, str]]) -> None:
    """Count (channel, delivery status) pairs, each status as its ``OUTCOMES`` name."""
    for (channel, status), n in Tally(outcomes).items():
        if status in OUTCOMES:
            DELIVERIES.labels(channel=channel, outcome=OUTCOMES[status]).inc(n)


def count_recorded(rows: Iterable[_OnChannel], changes: Iterable[Mapping[str, Any]]) -> None:
    """Count a write of outcomes: ``rows`` (with ``channel``) and their new states
    (``outcomes.change``'s dicts, with ``status``), in the same order."""
    count((row.channel, str(new["status"])) for row, new in zip(rows, changes, strict=True))


def count_decided(rows: Iterable[Any], held: Collection[int], folded: Collection[int]) -> None:
    """Count what the care policies held and folded among ``rows`` (with ``id`` and
    ``channel``); ``held`` and ``folded`` are delivery ids."""
    if held or folded:
        count(
            (row.channel, DeliveryStatus.held if row.id in held else DeliveryStatus.folded)
            for row in rows
            if row.id in held or row.id in folded
        )


def count_fanned_out(batches: Iterable[_Batched]) -> None:
    """Count the deliveries of a fan-out page's batches, by channel."""
    sizes: dict[str, int] = {}
    for batch in batches:
        sizes[batch.channel] = sizes.get(batch.channel, 0) + len(batch.delivery_ids)
    for channel, n in sizes.items():
        FANNED_OUT.labels(channel=channel).inc(n)


def timed(
    provider: str,
) -> Callable[[Callable[_P, Awaitable[_R]]], Callable[_P, Coroutine[Any, Any, _R]]]:
    """Decorate a provider call: its duration (returned or raised) goes to
    ``PROVIDER_SECONDS`` under ``provider``."""

    def decorate(call: Callable[_P, Awaitable[_R]]) -> Callable[_P, Coroutine[Any, Any, _R]]:
        @functools.wraps(call)
        async def timing(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            start = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                PROVIDER_SECONDS.labels(provider=provider).observe(time.perf_counter() - start)

        return timing

    return decorate


@functools.cache
def fan_out_seconds() -> Histogram:
    """How long fan-outs take, seconds: from the job's start to its last page's batches
    enqueued (made at first use; see the module)."""
    return Histogram(
        "forewarn_fanout_seconds",
        "Fan-outs (a notification to its deliveries, batches enqueued), seconds.",
        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    )


async def waiting(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Deliveries not sent yet, now, by (channel, why): ``held`` (care policies),
    ``retrying`` (pending after an attempt) and ``queued`` (pending, never tried).
    Read at scrape time through the unfinished rows' partial index."""
    why = case(
        (Delivery.status == DeliveryStatus.held, "held"),
        (Delivery.attempts > 0, "retrying"),
        else_="queued",
    ).label("why")
    rows = await session.execute(
        select(Delivery.channel, why, func.count())
        .where(Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.held)))
        .group_by(Delivery.channel, why)
    )
    return {(channel, reason): n for channel, reason, n in rows}
