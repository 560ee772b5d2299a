"""Signed, single-purpose tokens for links in messages (unsubscribe, and later manage)."""

from __future__ import annotations

import base64
import hashlib
import hmac


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


def inapp_hash(secret: str, user_id: str) -> str:
    """What the host application sends with an in-app user id to prove it (hex)."""
    return hmac.new(_key(secret, "inapp"), user_id.encode(), hashlib.sha256).hexdigest()
