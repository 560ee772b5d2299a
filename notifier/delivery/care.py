"""The care policies decided when a delivery is about to be sent (``sending``).

Issue 12's "contact them when it suits them" and "no spam", per recipient:

- **Urgent** notifications (``Notification.urgent``: asked for, or a critical impact)
  go at once, whatever follows.
- **Folding**: a held delivery, released, whose recipient has a newer one about the same
  subject on the same channel (held, pending, being sent or sent) is not sent: the
  newer one tells the current state. A delivery never held is sent as before (an
  update posted before the first was sent does not cancel it). It becomes ``folded``,
  a final status of its own rather than ``suppressed``, which means "may not be sent
  to this address" (consent, bounce, STOP) and would mislead ops counting those.
- **Only while unresolved**: a held delivery released after its subject was resolved
  (its newest notification closes it) is folded too when the customer asked to hear
  only while a problem lasts (``Customer.only_unresolved``).
- **Quiet hours** (``quiet_hours``): inside the recipient's window (their own, else
  the page's) a delivery is ``held`` until the window ends.
- **No-spam window**: one text per recipient, subject and channel per
  ``sms_window_minutes`` (email: ``email_window_minutes``), but for the changes that
  matter: the event opens or closes the subject, or the impact was raised since the
  subject's previous notification. Inside the window a delivery is held to its end,
  and then folds into the newest one.
- **Rating prompts** (``Event.asks_rating``) are no news about their subject: nothing
  folds into one, and one does not make its subject look unresolved; a prompt itself
  is held and folded as any message is.

A held row keeps its place: ``status`` held, ``next_attempt_at`` its release, and
``last_error`` saying why (starting ``HELD``: what tells a released row from a fresh
one). Its batch's job is deferred to the release (``Sender``), and the sweeper finds
it if that job is lost. Holding is not an attempt: the claim's count is given back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier.db import among
from notifier.delivery import metrics, quiet_hours
from notifier.events import RATING, Event
from notifier.statuses import ChannelName, DeliveryStatus, Impact
from notifier.tables import Customer, Delivery, Notification

DELIVERIES = cast(Table, Delivery.__table__)
HELD = "held: "
QUIET = HELD + "quiet hours"
WINDOW = HELD + "no-spam window after the last message about this"
NEWER = "folded into a newer message about the same subject"
RESOLVED = "resolved before it could be sent; the customer asked only while unresolved"
# Columns ``decide`` reads from each row of ``sending``'s batch query.
COLUMNS = (
    Customer.time_zone,
    Customer.quiet_hours_start,
    Customer.quiet_hours_end,
    Customer.only_unresolved,
    Delivery.last_error,
    Delivery.next_attempt_at,
)
# A newer delivery in one of these tells the recipient what an older one would.
_TELLING = (
    DeliveryStatus.pending,
    DeliveryStatus.held,
    DeliveryStatus.sending,
    DeliveryStatus.sent,
    DeliveryStatus.delivered,
)
_SENT = (DeliveryStatus.sending, DeliveryStatus.sent, DeliveryStatus.delivered)
_RANK = {impact: i for i, impact in enumerate(Impact)}


@dataclass
class Decisions:
    """What the policies decided for a batch: delivery id -> (release, reason) for the
    held ones, delivery id -> reason for the folded ones, and the earliest release."""

    held: dict[int, tuple[datetime, str]] = field(default_factory=dict)
    folded: dict[int, str] = field(default_factory=dict)

    @property
    def decided(self) -> set[int]:
        """The ids not to send now."""
        return set(self.held) | set(self.folded)

    @property
    def due(self) -> datetime | None:
        """When the first held one is released (None: none held)."""
        return min((at for at, _ in self.held.values()), default=None)


def released(row: Any) -> bool:
    """Whether a claimed row was held and is now released."""
    return bool(row.last_error and str(row.last_error).startswith(HELD))


def since(row: Any) -> datetime:
    """When the row's delivery deadline starts: its release for a released one (its
    wait was ours, not the provider's), else its creation."""
    start: datetime = row.next_attempt_at if released(row) else row.created_at
    return start


async def decide(
    session: AsyncSession,
    rows: Sequence[Any],
    notifications: Mapping[str, Notification],
    superseded: set[str],
    settings: DeliverySettings,
    *,
    now: datetime,
    postgres: bool,
) -> Decisions:
    """Decide for ``rows`` (claimed rows about to be sent, each with ``id``,
    ``channel``, ``customer_id``, ``notification_id`` and ``COLUMNS``) and write the
    held and folded ones. ``superseded``: the notifications a newer one about the same
    subject follows (folding is looked for only among those released). At most three queries,
    each for the whole batch and only when some row needs it."""
    out = Decisions()
    # Per row only what differs per row: what a notification, a channel or a quiet
    # window in a zone decides is decided once per batch (a batch is a thousand rows
    # of one or two notifications, a few channels and zones).
    urgent = {i for i, n in notifications.items() if n.urgent}
    candidates = [r for r in rows if r.notification_id not in urgent] if urgent else rows
    if not candidates:
        return out
    folding = (
        [r for r in candidates if r.notification_id in superseded and released(r)]
        if superseded
        else []
    )
    newer = await _newest_told(session, folding, notifications)
    page = (settings.quiet_hours_start, settings.quiet_hours_end)
    no_page_window = quiet_hours.window((None, None), page) is None
    history = _History(session, notifications)
    quiet: dict[tuple[Any, ...], datetime | None] = {}
    # (notification, channel) -> whether its rows wait out a no-spam window, if any.
    spaced: dict[tuple[str, str], bool] = {}
    windowed: list[Any] = []
    for row in candidates:
        notification_id, channel = row.notification_id, row.channel
        if newer:
            notification = notifications[notification_id]
            told = newer.get((row.customer_id, channel, notification.subject_id))
            if told is not None and told > notification.created_at:
                out.folded[row.id] = NEWER
                continue
        if (
            row.only_unresolved
            and released(row)
            and await history.resolved(notifications[notification_id].subject_id)
        ):
            out.folded[row.id] = RESOLVED
            continue
        start = row.quiet_hours_start
        if start is None and no_page_window:  # most rows: no quiet hours at all
            ends = None
        else:
            own = (start, row.quiet_hours_end)
            zoned = (*own, row.time_zone)
            if zoned not in quiet:
                window = quiet_hours.window(own, page)
                quiet[zoned] = quiet_hours.ends_at(now, window, row.time_zone)
            ends = quiet[zoned]
        if ends is not None:
            out.held[row.id] = (ends, QUIET)
            continue
        key = (notification_id, channel)
        if key not in spaced:
            spaced[key] = bool(_window(channel, settings)) and not await history.matters(
                notifications[notification_id]
            )
        if spaced[key]:
            windowed.append(row)
    last = await _last_sent(session, windowed, notifications)
    for row in windowed:
        subject = notifications[row.notification_id].subject_id
        at = last.get((row.customer_id, row.channel, subject))
        ends = None if at is None else at + _window(row.channel, settings)
        if ends is not None and ends > now:
            out.held[row.id] = (ends, WINDOW)
    await _write(session, out, postgres=postgres)
    metrics.count_decided(rows, out.held, out.folded)
    return out


def _window(channel: str, settings: DeliverySettings) -> timedelta:
    minutes = {
        ChannelName.sms: settings.sms_window_minutes,
        ChannelName.email: settings.email_window_minutes,
    }.get(ChannelName(channel), 0)
    return timedelta(minutes=minutes)


class _History:
    """The notifications of the batch's subjects, read once when first asked."""

    def __init__(self, session: AsyncSession, notifications: Mapping[str, Notification]):
        self._session = session
        self._subjects = {n.subject_id for n in notifications.values()}
        self._by_subject: dict[str, list[tuple[datetime, str, str, str | None]]] | None = None

    async def _read(self) -> dict[str, list[tuple[datetime, str, str, str | None]]]:
        if self._by_subject is None:
            found = await self._session.execute(
                select(
                    Notification.subject_id,
                    Notification.created_at,
                    Notification.id,
                    Notification.event,
                    Notification.impact,
                ).where(
                    Notification.subject_id.in_(self._subjects),
                    Notification.event.not_in(RATING),
                )
            )
            by_subject: dict[str, list[tuple[datetime, str, str, str | None]]] = {}
            for n in found:
                by_subject.setdefault(n.subject_id, []).append(
                    (n.created_at, n.id, n.event, n.impact)
                )
            for told in by_subject.values():
                told.sort()
            self._by_subject = by_subject
        return self._by_subject

    async def resolved(self, subject: str) -> bool:
        """Whether the subject's newest notification closes it."""
        told = (await self._read()).get(subject, [])
        return bool(told) and Event(told[-1][2]).closes

    async def matters(self, notification: Notification) -> bool:
        """Whether it is a change that goes inside a no-spam window: it opens or closes
        its subject, or raises the impact of the subject's previous notification."""
        if Event(notification.event).opens or Event(notification.event).closes:
            return True
        if notification.impact not in _RANK:
            return False
        told = (await self._read()).get(notification.subject_id, [])
        earlier = [t for t in told if (t[0], t[1]) < (notification.created_at, notification.id)]
        before = earlier[-1][3] if earlier else None
        return before in _RANK and _RANK[Impact(notification.impact)] > _RANK[Impact(before)]


async def _newest_told(
    session: AsyncSession, rows: Sequence[Any], notifications: Mapping[str, Notification]
) -> dict[tuple[str, str, str], datetime]:
    """(customer, channel, subject) -> the creation of the newest notification about the
    subject that has a delivery telling it to that customer on that channel."""
    if not rows:
        return {}
    found = await session.execute(
        select(
            Delivery.customer_id,
            Delivery.channel,
            Notification.subject_id,
            func.max(Notification.created_at).label("newest"),
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Delivery.customer_id.in_({r.customer_id for r in rows}),
            Delivery.status.in_(_TELLING),
            Notification.event.not_in(RATING),
            Notification.subject_id.in_(
                {notifications[r.notification_id].subject_id for r in rows}
            ),
        )
        .group_by(Delivery.customer_id, Delivery.channel, Notification.subject_id)
    )
    return {(r.customer_id, r.channel, r.subject_id): _aware(r.newest) for r in found}


async def _last_sent(
    session: AsyncSession, rows: Sequence[Any], notifications: Mapping[str, Notification]
) -> dict[tuple[str, str, str], datetime]:
    """(customer, channel, subject) -> when the last message about the subject went to
    that customer on that channel (or was claimed to go), for the batch's customers."""
    if not rows:
        return {}
    subjects = {notifications[r.notification_id].subject_id for r in rows}
    found = await session.execute(
        select(
            Delivery.customer_id,
            Delivery.channel,
            Notification.subject_id,
            func.max(func.coalesce(Delivery.sent_at, Delivery.claimed_at)).label("last"),
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Delivery.customer_id.in_({r.customer_id for r in rows}),
            Delivery.channel.in_({r.channel for r in rows}),
            Delivery.status.in_(_SENT),
            Delivery.id.not_in([r.id for r in rows]),
            Notification.subject_id.in_(subjects),
        )
        .group_by(Delivery.customer_id, Delivery.channel, Notification.subject_id)
    )
    return {(r.customer_id, r.channel, r.subject_id): _aware(r.last) for r in found}


async def _write(session: AsyncSession, decisions: Decisions, *, postgres: bool) -> None:
    """Held rows: status held until their release, the claim's attempt given back;
    folded rows: final. One UPDATE per (release, reason) or reason."""
    groups: dict[tuple[datetime, str], list[int]] = {}
    for delivery_id, key in decisions.held.items():
        groups.setdefault(key, []).append(delivery_id)
    for (until, reason), ids in groups.items():
        await session.execute(
            update(DELIVERIES)
            .where(among(DELIVERIES.c.id, ids, postgres=postgres))
            .values(
                status=DeliveryStatus.held,
                next_attempt_at=until,
                last_error=reason,
                claimed_at=None,
                attempts=DELIVERIES.c.attempts - 1,
            )
        )
    reasons: dict[str, list[int]] = {}
    for delivery_id, reason in decisions.folded.items():
        reasons.setdefault(reason, []).append(delivery_id)
    for reason, ids in reasons.items():
        await session.execute(
            update(DELIVERIES)
            .where(among(DELIVERIES.c.id, ids, postgres=postgres))
            .values(status=DeliveryStatus.folded, last_error=reason, next_attempt_at=None)
        )


def _aware(at: Any) -> datetime:
    """A MAX() over a datetime column: SQLite's bypasses the column type (UTC text)."""
    found = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
