"""What each Twilio error code means for a message and its number: the one table.

Both places that hear a Twilio error read it here: the REST API's answer to a send
(``channels/sms.py``) and a status callback's ``ErrorCode`` on an undelivered
message (``provider_events.py``). Source: Twilio's error dictionary,
https://www.twilio.com/docs/api/errors (one page per code, e.g. ``/errors/21610``).
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.statuses import SuppressionReason


@dataclass(frozen=True)
class TwilioError:
    """One Twilio error code's verdict.

    ``permanent``: sending the same message to the same number again cannot succeed,
    because of the number: the message goes by the customer's next channel
    (``fallback``), whether Twilio said so answering the send or later in a status
    callback.
    ``suppress``: the number itself is at fault (opted out, not a mobile number), so
    nothing more goes to it until it changes; None when the fault is ours or passing.
    ``reason``: Twilio's name for the code, for logs and ``last_error``.
    """

    permanent: bool
    suppress: SuppressionReason | None
    reason: str


# Credentials refused (20003) or the account suspended (20005): our configuration,
# never the number's; ops must be told.
AUTH_CODES = frozenset({20003, 20005})
# Too many requests: wait and send again.
RATE_LIMITED = 20429

TWILIO_ERRORS: dict[int, TwilioError] = {
    # Answers of the Messages API to the send itself.
    21211: TwilioError(True, SuppressionReason.invalid, "invalid 'To' phone number"),
    21408: TwilioError(True, None, "permission to send to this region not enabled"),
    21610: TwilioError(True, SuppressionReason.stop, "recipient replied STOP"),
    21612: TwilioError(True, None, "'To' number not reachable from this sender"),
    21614: TwilioError(True, SuppressionReason.invalid, "'To' number is not a mobile number"),
    # Carrier verdicts on a message already accepted (status callbacks' ErrorCode), each
    # from its page of the error dictionary (https://www.twilio.com/docs/api/errors/NNNNN).
    # Permanent only where the page says the number cannot get texts.
    # 30003: the handset is off or out of coverage, which Twilio calls temporary: retry.
    30003: TwilioError(False, None, "unreachable destination handset"),
    # 30005: the number is unknown to its carrier and may no longer exist.
    30005: TwilioError(True, SuppressionReason.invalid, "unknown destination handset"),
    # 30006: a landline, which Twilio says not to retry.
    30006: TwilioError(True, SuppressionReason.invalid, "landline or unreachable carrier"),
    # 30007: filtered as spam by Twilio or the carrier: our content or sender, not the
    # number, which gets the next text that passes.
    30007: TwilioError(False, None, "message filtered"),
    # 30008: unknown error; Twilio's advice is to send again.
    30008: TwilioError(False, None, "unknown error"),
    # Left out on purpose, so not permanent: 30004 (message blocked), whose page lists
    # causes of every kind (an opt-out, a blocklist, no signal, filtering of content).
}


def twilio_error(code: int | None) -> TwilioError | None:
    """The verdict on Twilio error ``code``; None for a code not in the table (the
    caller decides by the HTTP status: 4xx permanent, 429 and 5xx transient)."""
    return TWILIO_ERRORS.get(code or 0)
