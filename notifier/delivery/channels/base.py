"""The channel interface and the values that cross it."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

from notifier.control_characters import one_line
from notifier.statuses import SuppressionReason

# Per-recipient values go into content rendered once per batch as %%name%% tokens:
# SendGrid substitutes them server-side, the other channels here.
TOKENS = ("greeting", "unsubscribe_url", "manage_url")
# The times a message tells, in each recipient's own zone: context values whose value in
# content rendered once per (notification, channel, locale) is their token (non-empty
# exactly when there is a time; ``messages.with_time_tokens``), not template tokens.
TIMES = ("next_update_by", "eta", "window")
# A rating prompt's score links, one per score (``rating_url_0`` .. ``rating_url_10``;
# a scale uses its own), each signed for the recipient's prompt (``links.rating_token``).
RATING_LINKS = tuple(f"rating_url_{score}" for score in range(11))
# Everything substituted per recipient in rendered content.
SUBSTITUTED = TOKENS + TIMES + RATING_LINKS


def token(name: str, *, html_part: bool = False) -> str:
    """The ``%%name%%`` token for a per-recipient value (``%%name_html%%``: HTML-escaped)."""
    return f"%%{name}_html%%" if html_part else f"%%{name}%%"


@dataclass(frozen=True)
class Content:
    """A message rendered for one (notification, locale, channel), with tokens left in.

    ``subject`` is one line, always: whatever a title, a page name or a substituted
    value holds, CR, LF and other control characters are folded to a space here, the
    one place every subject passes (a header injection otherwise, RFC 5322 §2.2).
    """

    subject: str
    text: str
    html: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", one_line(self.subject))


@dataclass(frozen=True)
class Recipient:
    """One recipient of a batch: its delivery id (0 for a sign-up message), address, and per-
    recipient values for the tokens."""

    delivery_id: int
    address: str  # email address, E.164 number, or in-app user id
    values: dict[str, str] = field(default_factory=dict)

    def substitutions(self, names: Sequence[str] | None = None) -> dict[str, str]:
        """Token -> value, for ``names`` (default: every value), plain and HTML-escaped."""
        values = [(k, v) for k, v in self.values.items() if names is None or k in names]
        out = {token(k): v for k, v in values}
        out.update({token(k, html_part=True): html.escape(v) for k, v in values})
        return out


def personalise(content: Content, recipient: Recipient) -> Content:
    """The content exactly as this recipient sees it."""
    subject, text, body_html = content.subject, content.text, content.html
    for key, value in recipient.substitutions().items():
        subject = subject.replace(key, value)
        text = text.replace(key, value)
        body_html = body_html.replace(key, value)
    return Content(subject=subject, text=text, html=body_html)


@dataclass(frozen=True)
class Sent:
    """A provider accepted the message: its id for the provider's callbacks (a Twilio Message
    SID, a SendGrid X-Message-Id), SMS segments billed, and whether it is delivered already."""

    provider_id: str
    segments: int | None = None
    # In-app messages are in the inbox the moment they are stored.
    delivered: bool = False


class DeliveryError(Exception):
    """A send failed, or was not made. ``permanent``: retrying cannot help (bad
        address, opted out); ``retry_after``: seconds a provider asked us to wait;
        ``suppress``: a suppression to record for the address now (the provider said it
        is invalid, or opted out); ``suppressed``: not sent because the address was
        suppressed already (the delivery's status is then ``suppressed``, not
        ``failed``: see ``suppressed_address``); ``alert_ops``: our credentials were
        refused (the batch is parked, see ``notifier.delivery.parking``); ``late``: not
    sent because it is no longer worth sending (superseded, past its deadline), so no
    other channel takes it up either (``notifier.delivery.fallback``); ``paused_until``:
    not sent because the provider was refusing everyone (``notifier.delivery.pauses``):
    the message waits until then, and the attempt does not count."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        suppress: SuppressionReason | None = None,
        suppressed: bool = False,
        alert_ops: bool = False,
        late: bool = False,
        paused_until: datetime | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        # A suppression reason ("stop", "invalid", "bounce") to record for the address.
        self.suppress = suppress
        self.suppressed = suppressed
        # Our own credentials are wrong (401/403): the sender stops the batch and parks
        # it, and ops are told (``notifier.delivery.parking``); never retried on its own.
        self.alert_ops = alert_ops
        self.late = late
        self.paused_until = paused_until

    @property
    def falls_back(self) -> bool:
        """Whether another channel should carry the message (``notifier.delivery.fallback``):
        this address failed for good; not our credentials (the message goes once ops
        fix them), not a message too late to go at all."""
        return self.permanent and not self.alert_ops and not self.late

    @classmethod
    def suppressed_address(cls, reason: str) -> DeliveryError:
        """Not sent, and never will be: the address is on the suppression list for
        ``reason`` (a ``SuppressionReason``). Recorded as ``suppressed: <reason>``."""
        return cls(f"suppressed: {reason}", permanent=True, suppressed=True)


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait: delay-seconds or an HTTP-date
    (RFC 9110 §10.2.3); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


Outcome = Sent | DeliveryError
# Told the outcomes of one provider call as soon as it returns: (recipient, outcome) pairs.
Report = Callable[[Sequence[tuple[Recipient, Outcome]]], Awaitable[None]]


class Channel(Protocol):
    """One provider behind one interface; ``name`` is the delivery channel it serves
    (``sms``, ``email``, ``inapp``)."""

    name: str

    async def send(
        self, content: Content, recipients: Sequence[Recipient], report: Report | None = None
    ) -> list[Outcome]:
        """Send one batch; one outcome per recipient, in order. Never retries by itself.

        ``report``, when given, is awaited with each provider call's outcomes as soon as
        the call returns, and before the call's concurrency slot is given back: the
        sender records them there, so that a worker killed mid-batch leaves only its
        calls in flight unrecorded (design.md: the window for a duplicate). Outcomes
        not reported are recorded from the returned list.
        """
        ...


_T = TypeVar("_T")


async def seen_through(call: Awaitable[_T]) -> _T:
    """Await ``call`` (a provider call and the recording of its outcome) to its end, even
    when the caller is cancelled meanwhile, and only then pass the cancellation on.

    A stopping worker cancels its jobs (``forewarn worker`` on SIGTERM): what the provider
    already has is answered and recorded rather than abandoned unrecorded, for another
    worker to send again. Bounded by the call's own timeout; a second cancellation
    stops waiting.
    """
    task = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def tell(report: Report | None, outcomes: Sequence[tuple[Recipient, Outcome]]) -> None:
    """Hand ``outcomes`` to ``report``, if there is one and anything to tell."""
    if report is not None and outcomes:
        await report(outcomes)
