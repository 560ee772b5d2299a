"""A delivery's new state from its outcome (``suppressed`` is the outcome's kind), and the
retry delay: exponential from a base, with jitter, capped; a provider's Retry-After wins
when longer (what every retry of a delivery or a sign-up waits)."""

from __future__ import annotations

from datetime import timedelta

from config import DeliverySettings
from notifier.db import utcnow
from notifier.delivery.channels.base import DeliveryError, Sent
from notifier.delivery.outcomes import MAX_BACKOFF_SECONDS, Claimed, backoff, change
from notifier.statuses import DeliveryStatus


def claimed(attempts: int = 1) -> Claimed:
    return Claimed(
        id=1, channel="sms", attempts=attempts, created_at=utcnow() - timedelta(seconds=1)
    )


def refused(*, permanent: bool = False) -> DeliveryError:
    return DeliveryError("Twilio error 20003", permanent=permanent, alert_ops=True, retry_after=300)


def test_a_suppressed_address_makes_the_delivery_suppressed() -> None:
    new = change(claimed(), DeliveryError.suppressed_address("stop"), utcnow(), DeliverySettings())
    assert (new["status"], new["last_error"]) == (DeliveryStatus.suppressed, "suppressed: stop")


def test_a_reason_that_merely_starts_with_suppressed_is_a_failure() -> None:
    outcome = DeliveryError("suppressed by the carrier's filter", permanent=True)
    new = change(claimed(), outcome, utcnow(), DeliverySettings())
    assert new["status"] == DeliveryStatus.failed


def test_a_send_is_sent_or_delivered() -> None:
    now = utcnow()
    assert change(claimed(), Sent("SM1"), now, DeliverySettings())["status"] == "sent"
    inbox = change(claimed(), Sent("1", delivered=True), now, DeliverySettings())
    assert (inbox["status"], inbox["delivered_at"]) == (DeliveryStatus.delivered, now)


def test_a_transient_error_is_pending_again_with_a_due_time() -> None:
    now = utcnow()
    new = change(claimed(), DeliveryError("busy", permanent=False), now, DeliverySettings())
    assert new["status"] == DeliveryStatus.pending
    assert new["next_attempt_at"] > now


def test_backoff_doubles_from_the_base_with_jitter_up_to_a_cap() -> None:
    for attempts, low, high in ((1, 1.0, 2.0), (2, 2.0, 4.0), (4, 8.0, 16.0)):
        delays = [backoff(attempts, None, 2.0) for _ in range(50)]
        assert all(low <= d <= high for d in delays), (attempts, min(delays), max(delays))
    assert all(backoff(30, None, 2.0) <= MAX_BACKOFF_SECONDS for _ in range(50))


def test_backoff_waits_at_least_a_providers_retry_after() -> None:
    assert all(backoff(1, 30.0, 2.0) >= 30.0 for _ in range(50))
    assert all(backoff(1, 0.5, 2.0) >= 1.0 for _ in range(50))  # shorter: the backoff wins


# The end-to-end tests (test_parking.py) see a fault in this rule only as a hang: a
# refusal recorded as a retry is deferred by its retry_after (300 s), and a burst worker
# waits for it. These check the rule itself, at once.
def test_a_refusal_of_our_credentials_is_parked_with_no_retry_due() -> None:
    new = change(claimed(), refused(), utcnow(), DeliverySettings())
    assert (new["status"], new["last_error"], new["next_attempt_at"]) == (
        DeliveryStatus.parked,
        "Twilio error 20003",
        None,
    )


def test_it_is_parked_whatever_the_attempts_or_the_permanent_flag() -> None:
    settings = DeliverySettings()
    last = claimed(attempts=settings.max_attempts)
    for outcome in (refused(), refused(permanent=True)):
        assert change(last, outcome, utcnow(), settings)["status"] == DeliveryStatus.parked
