"""The retry delay: exponential from a base, with jitter, capped; a provider's
Retry-After wins when longer (what every retry of a delivery or a sign-up waits)."""

from __future__ import annotations

from notifier.delivery.outcomes import MAX_BACKOFF_SECONDS, backoff


def test_backoff_doubles_from_the_base_with_jitter_up_to_a_cap() -> None:
    for attempts, low, high in ((1, 1.0, 2.0), (2, 2.0, 4.0), (4, 8.0, 16.0)):
        delays = [backoff(attempts, None, 2.0) for _ in range(50)]
        assert all(low <= d <= high for d in delays), (attempts, min(delays), max(delays))
    assert all(backoff(30, None, 2.0) <= MAX_BACKOFF_SECONDS for _ in range(50))


def test_backoff_waits_at_least_a_providers_retry_after() -> None:
    assert all(backoff(1, 30.0, 2.0) >= 30.0 for _ in range(50))
    assert all(backoff(1, 0.5, 2.0) >= 1.0 for _ in range(50))  # shorter: the backoff wins
