"""A refusal of our credentials parks the delivery: the rule of ``outcomes.change``.

The end-to-end tests (``test_parking.py``) see a fault here only as a hang: a refusal
recorded as a retry is deferred by its ``retry_after`` (300 s), and a burst worker
waits for it. These check the rule itself, at once (bench/mutations.toml: "a batch
whose credentials were refused is retried with backoff, not parked").
"""

from __future__ import annotations

from datetime import timedelta

from config import DeliverySettings
from notifier.db import utcnow
from notifier.delivery.channels.base import DeliveryError
from notifier.delivery.outcomes import Claimed, change
from notifier.statuses import DeliveryStatus


def claimed(attempts: int = 1) -> Claimed:
    return Claimed(
        id=1, channel="sms", attempts=attempts, created_at=utcnow() - timedelta(seconds=1)
    )


def refused(*, permanent: bool = False) -> DeliveryError:
    return DeliveryError("Twilio error 20003", permanent=permanent, alert_ops=True, retry_after=300)


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
