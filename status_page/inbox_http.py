"""What every inbox handler shares: who the caller is, the message id in the path, the
JSON answer and a message's shape.

The caller proves a host-application user in one of two ways: a user token (a JWT
signed with a key of the host's: ``notifier.inbox_tokens``) as ``Authorization: Bearer``
(or, on the stream, the ``token`` query parameter), or the user id with its hex
HMAC-SHA256 keyed by the in-app secret (``X-Forewarn-User`` and ``X-Forewarn-User-Hash``;
on the stream, ``user`` and ``hash``).
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from pydantic import BaseModel

from config import Settings
from notifier import inbox, inbox_tokens, signing
from notifier.care import inbox_prompts
from notifier.errors import NotFound
from notifier.tables import InboxMessage
from status_page import keys
from status_page.api.errors import ApiError
from status_page.api.models.inbox import InboxMessageOut, InboxRatingOut

USER_HEADER = "X-Forewarn-User"
HASH_HEADER = "X-Forewarn-User-Hash"
API_PATH = "/api/v1/inbox"
MAX_ID = 2**63 - 1
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="inbox", Forewarn-User-Hash realm="inbox"'}


def inapp_secret(settings: Settings) -> str:
    """The secret user ids are HMACed with: ``FOREWARN_INBOX__SECRET``, or else the one
    derived from ``FOREWARN_SECRET_KEY`` (``signing.inapp_secret``)."""
    own = settings.inbox.secret.get_secret_value()
    return own or signing.inapp_secret(settings.secret_key.get_secret_value())


def load_keys(app: web.Application) -> None:
    """Read ``FOREWARN_INBOX__JWT_KEYS`` once, at start-up (a PEM key is parsed here)."""
    entries = (key.get_secret_value() for key in app[keys.SETTINGS].inbox.jwt_keys)
    app[keys.INBOX_TOKEN_KEYS] = inbox_tokens.keyring(entries)


def proven(request: web.Request, user_id: str, user_hash: str, how: str, *, token: str) -> str:
    """The user id the request proves: ``token``'s ``sub`` when a token is given (and then
    ``user_id``, if given too, must be it), else ``user_id`` when ``user_hash`` is its HMAC.

    ``ApiError`` 401 (with a ``WWW-Authenticate`` challenge) saying why, never which part
    of a key.
    """
    if token:
        ring: dict[str, inbox_tokens.VerifyingKey] = request.app[keys.INBOX_TOKEN_KEYS]
        try:
            subject = inbox_tokens.user_of(
                token, ring, max_seconds=request.app[keys.SETTINGS].inbox.token_max_seconds
            )
        except inbox_tokens.BadToken as bad:
            raise ApiError(401, bad.reason, headers=CHALLENGE) from None
        if user_id and user_id != subject:
            raise ApiError(401, "the user token is for another user", headers=CHALLENGE)
        return subject
    if not inbox.authentic(inapp_secret(request.app[keys.SETTINGS]), user_id, user_hash):
        raise ApiError(
            401, f"send a user token, or the user id and its hash as {how}", headers=CHALLENGE
        )
    return user_id


def user(request: web.Request) -> str:
    """The user an API request proves (``Authorization: Bearer`` or the two headers)."""
    headers = request.headers
    how = f"{USER_HEADER} and {HASH_HEADER} headers"
    user_id, user_hash = headers.get(USER_HEADER, ""), headers.get(HASH_HEADER, "")
    return proven(request, user_id, user_hash, how, token=bearer(request))


def bearer(request: web.Request) -> str:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 section 2.1), or "" when
    the header is absent. Raises ``ApiError`` 401 for any other scheme or an empty token:
    sent, it is judged, never passed over for another proof."""
    if "Authorization" not in request.headers:
        return ""
    scheme, _, token = request.headers["Authorization"].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "send Authorization: Bearer <user token>", headers=CHALLENGE)
    return token


def message_id(request: web.Request) -> int:
    """The ``{message_id}`` of the path; ``NotFound`` past a bigint (or not ASCII digits:
    the route's ``\\d`` takes any Unicode digit)."""
    raw = request.match_info["message_id"]
    found = as_id(raw)
    if found is None:
        raise NotFound("inbox message", raw[:40])
    return found


def as_id(raw: str) -> int | None:
    """``raw`` as a message id (ASCII digits, at most a bigint), else None. Checked before
    ``int()``: past 4300 digits it raises ValueError (CPython's limit, CVE-2020-10735)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > len(str(MAX_ID)):
        return None
    found = int(raw)
    return found if found <= MAX_ID else None


def json_response(model: BaseModel) -> web.Response:
    """``model`` as an application/json answer."""
    return web.Response(text=model.model_dump_json(), content_type="application/json")


def message_out(message: InboxMessage, prompt: inbox_prompts.PromptItem | None) -> InboxMessageOut:
    """A stored message with the rating prompt it carries, if any, as the API shows it."""
    out = InboxMessageOut.model_validate(message)
    if prompt is not None:
        labels = {str(score): text for score, text in prompt.labels.items()}
        out.rating = InboxRatingOut.model_validate({**asdict(prompt), "labels": labels})
    return out
