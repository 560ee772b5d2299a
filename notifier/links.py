"""Signed, single-purpose tokens for links in messages and pages.

``sign``/``verify``: the unsubscribe links' tokens (no expiry; links already sent
keep working). ``dumps``/``loads``: tokens that expire (itsdangerous, one salt per
purpose), for confirming a sign-up and managing a subscription.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from itsdangerous import BadSignature, TimestampSigner


def _key(secret: str, purpose: str) -> bytes:
    # One derived key per purpose: a token made for one use never validates for another.
    return hmac.new(secret.encode(), f"forewarn:{purpose}".encode(), hashlib.sha256).digest()


def sign(secret: str, purpose: str, payload: str) -> str:
    mac = hmac.new(_key(secret, purpose), payload.encode(), hashlib.sha256).digest()[:20]
    raw = payload.encode() + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def verify(secret: str, purpose: str, token: str) -> str | None:
    """The payload if the token is genuine and made for ``purpose``, else None."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    payload, _, _mac = raw.rpartition(".")
    if not payload or not hmac.compare_digest(sign(secret, purpose, payload), token):
        return None
    return payload


def inapp_secret(secret: str) -> str:
    """The secret the host application signs in-app user ids with (64 hex digits).

    Hex HMAC-SHA256 of ``forewarn:inapp`` keyed by ``FOREWARN_SECRET_KEY`` (what
    ``forewarn inapp-secret`` prints): the host application can prove users with it
    but cannot sign links, CSRF tokens or anything else with it.
    """
    return _key(secret, "inapp").hex()


def inapp_hash(secret: str, user_id: str) -> str:
    """What the host application sends with an in-app user id to prove it.

    Hex HMAC-SHA256 of the user id keyed by ``inapp_secret`` as text: the convention
    of Intercom's identity verification and Novu's subscriberHash.
    """
    key = inapp_secret(secret).encode()
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()


@cache
def _signer(secret: str, purpose: str) -> TimestampSigner:
    # The signer alone, not a serializer around it: payloads here are short strings, and
    # a token is made for every recipient of a fan-out (5 µs each rather than 14).
    return TimestampSigner(secret, salt=f"forewarn:{purpose}")


def dumps(secret: str, purpose: str, payload: str) -> str:
    """A token for ``purpose`` carrying ``payload`` and the time it was made."""
    return _signer(secret, purpose).sign(payload).decode()


def loads(secret: str, purpose: str, token: str, *, max_age: int) -> str | None:
    """The payload if the token is genuine, made for ``purpose`` and younger than
    ``max_age`` seconds; else None (tampered, expired or made for something else)."""
    try:
        return _signer(secret, purpose).unsign(token, max_age=max_age).decode()
    except (BadSignature, UnicodeDecodeError):  # SignatureExpired is a BadSignature
        return None


def manage_token(secret: str, customer_id: str, channel: str) -> str:
    """The token of a manage link sent over ``channel`` (which it proves they read)."""
    return dumps(secret, "manage", f"{customer_id}:{channel}")
