"""User tokens for the in-app inbox: JWTs (RFC 7519) the host application signs for its
signed-in user, as Knock's user tokens, so that a leaked URL holds for minutes, not for
good, and keys rotate one ``kid`` at a time.

A token is accepted when its header's ``kid`` names one of ``FOREWARN_INBOX__JWT_KEYS``,
its ``alg`` is that key's (HS256 for a shared secret, RS256 for an RSA public key,
ES256 for a P-256 one: never ``none``, nor another key's), its signature verifies, it
has ``sub`` (the in-app user id) and ``exp`` (not past, with ``LEEWAY_SECONDS`` for
clocks apart, and not further ahead than ``FOREWARN_INBOX__TOKEN_MAX_SECONDS``), and
its ``nbf`` and ``iat``, if any, are not ahead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

# Clocks of the host and of Forewarn may be a few seconds apart; no more is forgiven.
LEEWAY_SECONDS = 10
# The claims that are dates (RFC 7519 section 4.1).
_DATES = ("exp", "nbf", "iat")


@dataclass(frozen=True)
class VerifyingKey:
    """One ``kid``'s key and the one algorithm tokens signed with it must name."""

    algorithm: str
    key: Any = field(repr=False)  # the secret (HS256) or a cryptography public key


class BadToken(Exception):
    """A token refused; ``reason`` says why in words safe to answer with (no key in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def keyring(entries: Iterable[str]) -> dict[str, VerifyingKey]:
    """The keys by kid, from ``kid:key`` entries (as ``config.InboxSettings.jwt_keys``
    checked them). ``ValueError`` naming the kid for a PEM key that is neither RSA nor
    P-256."""
    keys: dict[str, VerifyingKey] = {}
    for entry in entries:
        kid, _, material = entry.partition(":")
        material = material.strip()
        if not material.startswith("-----BEGIN"):
            keys[kid] = VerifyingKey("HS256", material)
            continue
        try:
            public = load_pem_public_key(material.encode())
        except ValueError:
            raise ValueError(f"kid {kid!r}: not a PEM public key") from None
        if isinstance(public, rsa.RSAPublicKey):
            keys[kid] = VerifyingKey("RS256", public)
        elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(
            public.curve, ec.SECP256R1
        ):
            keys[kid] = VerifyingKey("ES256", public)
        else:
            raise ValueError(f"kid {kid!r}: use an RSA or a P-256 (ES256) public key")
    return keys


def user_of(
    token: str, keys: Mapping[str, VerifyingKey], *, max_seconds: float, now: float | None = None
) -> str:
    """The in-app user id (``sub``) ``token`` proves; ``BadToken`` with the reason otherwise,
    also when its ``exp`` is more than ``max_seconds`` after ``now`` (Unix seconds;
    default the clock's)."""
    if not keys:
        raise BadToken("user tokens are not enabled here (no FOREWARN_INBOX__JWT_KEYS)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise BadToken("the user token is not a JWT") from None
    kid = header.get("kid")
    chosen = keys.get(kid) if isinstance(kid, str) else None
    if chosen is None:
        raise BadToken("the user token's kid names no key of ours")
    try:
        claims = jwt.decode(
            token,
            chosen.key,
            algorithms=[chosen.algorithm],
            # sub is checked below, to say so when it is not a user id.
            options={"require": ["exp", "sub"], "verify_sub": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.InvalidAlgorithmError:
        raise BadToken(f"the user token's alg must be {chosen.algorithm} for its kid") from None
    except jwt.ExpiredSignatureError:
        raise BadToken("the user token has expired") from None
    except jwt.MissingRequiredClaimError as exc:
        raise BadToken(f"the user token has no {exc.claim} claim") from None
    except jwt.ImmatureSignatureError:
        raise BadToken("the user token is not valid yet") from None
    except jwt.InvalidIssuedAtError:
        raise BadToken("the user token's iat is not a NumericDate") from None
    except jwt.InvalidSignatureError:
        raise BadToken("the user token's signature does not verify") from None
    except jwt.InvalidTokenError:
        raise BadToken("the user token is not valid") from None
    for name in _DATES:
        # PyJWT takes "1764000000" (a string) or true for a date; RFC 7519 section 2
        # says a NumericDate is a JSON number.
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadToken(f"the user token's {name} is not a NumericDate")
    ahead = claims["exp"] - (time.time() if now is None else now)
    if ahead > max_seconds + LEEWAY_SECONDS:
        raise BadToken(
            f"the user token's exp is more than {max_seconds:g} s ahead: sign it for less"
        )
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not user_id:
        raise BadToken("the user token's sub is not a user id")
    return user_id
