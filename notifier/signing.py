"""One HMAC key per purpose, derived from ``FOREWARN_SECRET_KEY``.

Everything Forewarn signs or hashes with its secret goes through ``purpose_key``:
CSRF fields (``csrf``), sign-up SMS codes (``sms-code``), the sign-up limits'
Redis keys (``signup-limits``), the in-app secret (``inapp``) and the legacy
unsubscribe tokens (``unsubscribe``, ``cancel-signup``). A MAC made for one
purpose never validates for another, and the host application given the in-app
secret can sign nothing else with it. Tokens in links use itsdangerous with a
salt per purpose instead (``notifier.links``), which derives its keys likewise.
"""

from __future__ import annotations

import hashlib
import hmac


def purpose_key(secret: str, purpose: str) -> bytes:
    """The 32-byte key for ``purpose``: HMAC-SHA256 of ``forewarn:<purpose>`` keyed by
    ``secret`` (the HKDF-Expand idea of RFC 5869 in one block, as every key here was
    made since the first release: changing it would void codes and links already sent)."""
    return hmac.new(secret.encode(), f"forewarn:{purpose}".encode(), hashlib.sha256).digest()


def mac(secret: str, purpose: str, message: str) -> bytes:
    """HMAC-SHA256 (32 bytes) of ``message`` (UTF-8) keyed by ``purpose_key``.

    Compare MACs with ``hmac.compare_digest``, never ``==``.
    """
    return hmac.new(purpose_key(secret, purpose), message.encode(), hashlib.sha256).digest()


def inapp_secret(secret: str) -> str:
    """The secret the host application signs in-app user ids with (64 hex digits).

    Hex ``purpose_key(secret, "inapp")`` (what ``forewarn inapp-secret`` prints): the
    host application can prove users with it but cannot sign links, CSRF tokens or
    anything else with it.
    """
    return purpose_key(secret, "inapp").hex()


def inapp_hash(secret: str, user_id: str) -> str:
    """What the host application sends with an in-app user id to prove it (64 hex digits).

    Hex HMAC-SHA256 of the user id keyed by ``inapp_secret`` as text: the convention
    of Intercom's identity verification and Novu's subscriberHash.
    """
    key = inapp_secret(secret).encode()
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()
