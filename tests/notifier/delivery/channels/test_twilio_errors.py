"""The one table of Twilio error codes, and the verdicts read from it on a send.

Codes: https://www.twilio.com/docs/api/errors. Where ``channels/sms.py`` and
``provider_events.py`` used to disagree, the table follows Twilio's page for the code:
21614 (not a mobile number) suppresses the number in a status callback too; 30005
(unknown handset) and 30006 (landline) suppress it on a send too; 30003 (handset off
or out of coverage) is temporary, so a send answered with it is retried.
The callback side is in ``tests/notifier/delivery/test_provider_events.py``.
"""

from __future__ import annotations

import pytest

from notifier.delivery.channels.base import DeliveryError
from notifier.delivery.channels.sms import _error
from notifier.delivery.channels.twilio_errors import TWILIO_ERRORS, twilio_error
from notifier.statuses import SuppressionReason


def refused(code: int, status: int = 400) -> DeliveryError:
    """The outcome of a send Twilio answered with ``status`` and ``code``."""
    return _error(status, code)


@pytest.mark.parametrize(
    ("code", "suppress"),
    [
        (21211, SuppressionReason.invalid),
        (21610, SuppressionReason.stop),
        (21614, SuppressionReason.invalid),
        (30005, SuppressionReason.invalid),
        (30006, SuppressionReason.invalid),
        (21408, None),
        (21612, None),
    ],
)
def test_it_is_permanent_and_suppresses_only_when_the_number_is_at_fault(
    code: int, suppress: SuppressionReason | None
) -> None:
    verdict = twilio_error(code)
    assert verdict is not None
    assert (verdict.permanent, verdict.suppress) == (True, suppress)


def test_30003_an_unreachable_handset_is_temporary_and_suppresses_nothing() -> None:
    assert twilio_error(30003) == TWILIO_ERRORS[30003]
    assert (TWILIO_ERRORS[30003].permanent, TWILIO_ERRORS[30003].suppress) == (False, None)


def test_a_code_not_in_the_table_has_no_verdict() -> None:
    assert twilio_error(12345) is None
    assert twilio_error(None) is None


@pytest.mark.parametrize("code", [30005, 30006])
def test_a_send_refused_with_30005_or_30006_suppresses_the_number(code: int) -> None:
    outcome = refused(code)
    assert (outcome.permanent, outcome.suppress) == (True, SuppressionReason.invalid)
    assert outcome.reason == f"Twilio error {code}"


def test_a_send_refused_with_30003_is_retried() -> None:
    outcome = refused(30003)
    assert (outcome.permanent, outcome.suppress) == (False, None)


def test_a_code_not_in_the_table_is_permanent_on_a_4xx_without_suppressing() -> None:
    outcome = refused(21617)  # the body is too long
    assert (outcome.permanent, outcome.suppress) == (True, None)


def test_rate_limits_server_errors_and_credentials_are_not_permanent() -> None:
    assert not refused(20429, status=429).permanent
    assert not refused(0, status=503).permanent
    refused_key = refused(20003, status=401)
    assert (refused_key.permanent, refused_key.alert_ops) == (False, True)
