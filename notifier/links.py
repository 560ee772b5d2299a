"""Signed, single-purpose tokens for links in messages and pages (itsdangerous).

``sign``/``verify``: tokens that never expire, for unsubscribe links (links already
sent keep working). ``dumps``/``loads``: tokens that expire, for confirming a
sign-up and managing a subscription. Each purpose has its own salt
(``forewarn:<purpose>``), so a token made for one use never validates for another.
Payloads are ids (a customer's or a sign-up's, and a channel name), never an
address: they are readable in the token, only not forgeable.

Unsubscribe tokens were hand-rolled HMACs until itsdangerous made them; those are
still in inboxes, so ``verify`` accepts them too (``_legacy_verify``).
"""

from __future__ import annotations

import base64
import hmac
from functools import cache

from itsdangerous import BadSignature, Signer, TimestampSigner
from itsdangerous.encoding import base64_encode, want_bytes

from notifier import signing

_LEGACY_MAC_BYTES = 20


class _KeyedSigner(Signer):
    """itsdangerous' ``Signer`` with its HMAC keyed once: the same signatures, without
    deriving the key and keying the HMAC again for every token (two per recipient of a
    fan-out)."""

    def __init__(self, secret: str, salt: str) -> None:
        super().__init__(secret, salt=salt)
        self._keyed = hmac.new(self.derive_key(), digestmod=self.digest_method)

    def get_signature(self, value: str | bytes) -> bytes:
        """As ``Signer.get_signature``: base64 of HMAC(derived key, ``value``)."""
        mac = self._keyed.copy()
        mac.update(want_bytes(value))
        return base64_encode(mac.digest())


class _KeyedTimestampSigner(_KeyedSigner, TimestampSigner):
    """``TimestampSigner`` with the HMAC keyed once (``_KeyedSigner``)."""


@cache
def _plain_signer(secret: str, purpose: str) -> Signer:
    # Cached: a token is made for every recipient of a fan-out.
    return _KeyedSigner(secret, salt=f"forewarn:{purpose}")


def sign(secret: str, purpose: str, payload: str) -> str:
    """A token for ``purpose`` carrying ``payload``, valid for ever.

    ``<payload>.<signature>``: itsdangerous ``Signer`` (HMAC-SHA1, 27 URL-safe
    base64 characters), salt ``forewarn:<purpose>``. URL-safe as long as the
    payload is (ids and ``:`` are).
    """
    return _plain_signer(secret, purpose).sign(payload).decode()


def verify(secret: str, purpose: str, token: str) -> str | None:
    """The payload if the token is genuine and made for ``purpose``, else None.

    Accepts both the current format (``sign``) and the legacy one, for links sent
    before it.
    """
    try:
        return _plain_signer(secret, purpose).unsign(token).decode()
    except (BadSignature, UnicodeDecodeError):
        return _legacy_verify(secret, purpose, token)


def _legacy_sign(secret: str, purpose: str, payload: str) -> str:
    # base64url(payload "." base64url(first 20 bytes of signing.mac)), unpadded.
    digest = signing.mac(secret, purpose, payload)[:_LEGACY_MAC_BYTES]
    raw = payload.encode() + b"." + base64.urlsafe_b64encode(digest).rstrip(b"=")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _legacy_verify(secret: str, purpose: str, token: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    payload, _, _mac = raw.rpartition(".")
    if not payload or not hmac.compare_digest(_legacy_sign(secret, purpose, payload), token):
        return None
    return payload


@cache
def _signer(secret: str, purpose: str) -> TimestampSigner:
    # The signer alone, not a serializer around it: payloads here are short strings, and
    # a token is made for every recipient of a fan-out (5 µs each rather than 14).
    return _KeyedTimestampSigner(secret, salt=f"forewarn:{purpose}")


def dumps(secret: str, purpose: str, payload: str) -> str:
    """A token for ``purpose`` carrying ``payload`` and the time it was made.

    ``<payload>.<timestamp>.<signature>``: itsdangerous ``TimestampSigner``, salt
    ``forewarn:<purpose>``; read back with ``loads``.
    """
    return _signer(secret, purpose).sign(payload).decode()


def loads(secret: str, purpose: str, token: str, *, max_age: int) -> str | None:
    """The payload if the token is genuine, made for ``purpose`` and younger than
    ``max_age`` seconds; else None (tampered, expired or made for something else)."""
    try:
        return _signer(secret, purpose).unsign(token, max_age=max_age).decode()
    except (BadSignature, UnicodeDecodeError):  # SignatureExpired is a BadSignature
        return None


def manage_token(secret: str, customer_id: str, channel: str) -> str:
    """The token of a manage link sent over ``channel`` (which it proves they read):
    ``dumps`` of ``<customer id>:<channel>`` for purpose ``manage``."""
    return dumps(secret, "manage", f"{customer_id}:{channel}")


def rating_token(secret: str, prompt_id: str) -> str:
    """The token of a rating prompt's score links: ``dumps`` of the prompt id for purpose
    ``rating``. The prompt is one customer's about one subject, so the token is bound to
    both; read it back with ``rating_prompt_of``."""
    return dumps(secret, "rating", prompt_id)


def rating_prompt_of(secret: str, token: str, *, max_age_days: int) -> str | None:
    """The prompt id a score link's token carries, if genuine and younger than
    ``max_age_days`` (``FOREWARN_RATINGS__LINK_DAYS``); else None."""
    return loads(secret, "rating", token, max_age=max_age_days * 86_400)


def rating_path(token: str, score: int) -> str:
    """The path of one score link: ``/rate/<token>?score=<n>``. Opening it only shows the
    chosen score with a button to record it (mail scanners open links; they must not
    vote)."""
    return f"/rate/{token}?score={score}"
