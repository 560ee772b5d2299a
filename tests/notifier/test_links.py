"""Tokens in links: current itsdangerous tokens, and the hand-rolled ones still in inboxes."""

from __future__ import annotations

import base64
import re

import pytest
import time_machine

from notifier import links

SECRET = "legacy-secret-for-a-frozen-token"
# Made by the hand-rolled HMAC code before tokens came from itsdangerous, with SECRET:
# these sit in customers' inboxes and must keep working.
LEGACY_UNSUBSCRIBE = (
    "YTFCMmMzRDRlNUY2OmVtYWlsLnJ5RVlBVkRXajRoOEZVVDI2T1lvMkRIYnZjSQ",
    "a1B2c3D4e5F6:email",
)
LEGACY_CANCEL_SIGNUP = (
    "Wjl5OFg3dzZWNXU0LmxhNXBUQkN1V2E4eVRhYU5xbXRXVktrR2Q4dw",
    "Z9y8X7w6V5u4",
)
URL_SAFE = re.compile(r"[A-Za-z0-9_.:-]+")


def _flip(token: str, at: int) -> str:
    # Not the last character: its low bits may be base64 padding, which decoders ignore.
    swapped = "A" if token[at] != "A" else "B"
    return token[:at] + swapped + token[at + 1 :]


def test_a_token_carries_its_payload_for_its_purpose_only() -> None:
    token = links.sign(SECRET, "unsubscribe", "a1B2c3D4e5F6:email")

    assert links.verify(SECRET, "unsubscribe", token) == "a1B2c3D4e5F6:email"
    assert links.verify(SECRET, "cancel-signup", token) is None
    assert links.verify("another-secret", "unsubscribe", token) is None
    assert URL_SAFE.fullmatch(token)


@pytest.mark.parametrize(("token", "payload"), [LEGACY_UNSUBSCRIBE, LEGACY_CANCEL_SIGNUP])
def test_a_link_sent_before_itsdangerous_still_resolves(token: str, payload: str) -> None:
    purpose = "unsubscribe" if ":" in payload else "cancel-signup"

    assert links.verify(SECRET, purpose, token) == payload
    assert links.verify("another-secret", purpose, token) is None
    other = "cancel-signup" if purpose == "unsubscribe" else "unsubscribe"
    assert links.verify(SECRET, other, token) is None


def test_new_tokens_are_made_in_the_itsdangerous_format() -> None:
    token = links.sign(SECRET, "unsubscribe", "a1B2c3D4e5F6:email")

    assert token != LEGACY_UNSUBSCRIBE[0]
    assert token.startswith("a1B2c3D4e5F6:email.")


def test_a_tampered_token_is_refused_in_either_format() -> None:
    current = links.sign(SECRET, "unsubscribe", "a1B2c3D4e5F6:email")
    legacy = LEGACY_UNSUBSCRIBE[0]

    for token in (current, legacy):
        for at in (0, len(token) // 2, len(token) - 1):
            assert links.verify(SECRET, "unsubscribe", _flip(token, at)) is None
        assert links.verify(SECRET, "unsubscribe", token[:-1]) is None
        assert links.verify(SECRET, "unsubscribe", token + "A") is None
    # Another customer's id with the signature of this one.
    signature = current.rpartition(".")[2]
    assert links.verify(SECRET, "unsubscribe", f"zzzzzzzzzzzz:email.{signature}") is None
    payload = base64.urlsafe_b64decode(legacy + "==").decode()
    forged = payload.replace("a1B2c3D4e5F6", "zzzzzzzzzzzz").encode()
    forged_token = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    assert links.verify(SECRET, "unsubscribe", forged_token) is None
    assert links.verify(SECRET, "unsubscribe", "") is None
    assert links.verify(SECRET, "unsubscribe", "é.%") is None


def test_an_expiring_token_lives_for_max_age_only() -> None:
    token = links.dumps(SECRET, "confirm", "Z9y8X7w6V5u4")

    assert links.loads(SECRET, "confirm", token, max_age=60) == "Z9y8X7w6V5u4"
    assert links.loads(SECRET, "manage", token, max_age=60) is None
    assert links.loads(SECRET, "confirm", _flip(token, len(token) - 5), max_age=60) is None
    assert links.loads(SECRET, "confirm", token, max_age=-1) is None


def test_a_manage_token_names_the_customer_and_the_channel() -> None:
    token = links.manage_token(SECRET, "a1B2c3D4e5F6", "sms")

    assert links.loads(SECRET, "manage", token, max_age=60) == "a1B2c3D4e5F6:sms"


def test_a_rating_token_names_its_prompt_until_it_expires() -> None:
    with time_machine.travel(0, tick=False) as clock:
        token = links.rating_token("s" * 32, "prompt1")
        assert links.rating_prompt_of("s" * 32, token, max_age_days=28) == "prompt1"
        assert links.rating_prompt_of("t" * 32, token, max_age_days=28) is None
        assert (
            links.rating_prompt_of(
                "s" * 32, links.manage_token("s" * 32, "c", "email"), max_age_days=28
            )
            is None
        )
        clock.shift(28 * 86_400 + 1)
        assert links.rating_prompt_of("s" * 32, token, max_age_days=28) is None
    assert links.rating_path(token, 4) == f"/rate/{token}?score=4"
