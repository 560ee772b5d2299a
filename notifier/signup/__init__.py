"""Subscribing from the public page: double opt-in by emailed link, texted code or YES.

A sign-up stays a ``Signup`` row until its address is confirmed; only then is
there a customer with consent, so nothing but the confirmation message ever
reaches an unconfirmed address (the audience reads confirmed consent only). The
row is also the outbox row of that one message: written in the request's
transaction, sent by an arq job after the commit, re-enqueued by the expiry
sweep if the job was lost. The page answers the same whether or not the address
is subscribed already: a confirmed subscriber gets an ``already`` row, whose
message is their manage link instead of a confirmation.

The parts: ``form`` (parsing what was typed), ``confirmation`` (the rows, codes and
confirming) and ``limits`` (abuse limits in Redis); their public names are here, for
``signup.request`` and the like. The one message a sign-up sends is
``notifier.delivery.signup_messages``.
"""

from __future__ import annotations

from notifier.signup.confirmation import (
    ALREADY,
    CODE_DIGITS,
    CONFIRM,
    MAX_CODE_ATTEMPTS,
    Swept,
    Verified,
    cancel,
    code_for,
    confirm,
    confirm_by_reply,
    pending,
    request,
    sweep,
    verify_code,
)
from notifier.signup.form import (
    Choice,
    Form,
    FormError,
    Invalid,
    mask,
    parse_address,
    parse_channel_order,
    parse_choice,
    parse_email,
    parse_mobile,
    parse_quiet_hours,
)
from notifier.signup.limits import Limits

__all__ = [
    "ALREADY",
    "CODE_DIGITS",
    "CONFIRM",
    "MAX_CODE_ATTEMPTS",
    "Choice",
    "Form",
    "FormError",
    "Invalid",
    "Limits",
    "Swept",
    "Verified",
    "cancel",
    "code_for",
    "confirm",
    "confirm_by_reply",
    "mask",
    "parse_address",
    "parse_channel_order",
    "parse_choice",
    "parse_email",
    "parse_mobile",
    "parse_quiet_hours",
    "pending",
    "request",
    "sweep",
    "verify_code",
]
