"""Sending a batch of deliveries: claim, render, send, record. At-least-once, and the
window for a duplicate is one in-flight provider call: a row is claimed with a
conditional UPDATE before the call, the claim is renewed while the batch is sent, and
each call's outcome is recorded as it returns (``notifier.delivery.outcomes``)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from arq.connections import ArqRedis
from sqlalchemy import Table, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from notifier.db import among, uncancelled, utcnow
from notifier.delivery import care, fallback, message_templates, messages, parking
from notifier.delivery.channels import registry
from notifier.delivery.channels.base import Channel, Content, DeliveryError, Outcome, Recipient
from notifier.delivery.fanout import batch_up
from notifier.delivery.jobs import enqueue_batches
from notifier.delivery.outcomes import Claimed, Recorder, backoff
from notifier.delivery.rendering import Overrides, render
from notifier.delivery.sms_segments import encoding
from notifier.events import RATING
from notifier.statuses import ChannelName, DeliveryStatus
from notifier.tables import Customer, Delivery, Notification, RatingPrompt, Suppression
from notifier.tables.customers import address_by_channel

log = logging.getLogger(__name__)
DELIVERIES = cast(Table, Delivery.__table__)
_K = TypeVar("_K")
_V = TypeVar("_V")
# What a notification says depends only on it and the language, and its times on the
# time zone too: keep a few of each.
CONTEXT_CACHE = 256
TEXTS_FIRST_SECONDS = 5.0
# The channels whose providers may pause them (``notifier.delivery.pauses``).
PAUSING = (ChannelName.email, ChannelName.sms)


class Sender:
    """A worker's sender of delivery batches, one per worker: ``send`` claims, renders,
    sends through ``channels`` (channel name -> ``Channel``) and records each outcome.
    A provider's refusal of our credentials parks the rest of the batch (``parking``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        settings: Settings,
        queue: ArqRedis | None = None,
    ) -> None:
        self._sessions = sessions
        # Where fallbacks' send jobs go (None: the sweeper finds them).
        self._queue = queue
        self._channels = channels
        self._settings = settings
        # A provider refusing everyone pauses its channel: no batch claims meanwhile.
        self._pauses = (
            {str(name): registry.pause(queue, name, settings) for name in PAUSING}
            if queue is not None
            else {}
        )
        self._contexts: dict[tuple[str, str], dict[str, Any]] = {}
        self._moments_of: dict[str, messages.Moments] = {}
        self._times: dict[tuple[str, str, str], dict[str, str]] = {}
        self._contents: dict[tuple[str, str, str, frozenset[Any]], Content] = {}
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self._recorder = Recorder(sessions.kw["bind"], settings.delivery)
        self._texts_sending = 0
        self._texts_done = asyncio.Event()
        self._texts_done.set()

    async def send(self, channel_name: str, ids: Sequence[int]) -> float | None:
        """Send what is due among ``ids`` (delivery ids on ``channel_name``); returns
        seconds until some are due again, or None. Raises what recording raises
        (database errors); unsent claims are then handed back."""
        if channel_name == ChannelName.sms:
            async with self._sending_texts():
                return await self._send(channel_name, ids)
        if channel_name == ChannelName.email:
            await self._after_texts()
        return await self._send(channel_name, ids)

    @contextlib.asynccontextmanager
    async def _sending_texts(self) -> AsyncIterator[None]:
        self._texts_sending += 1
        self._texts_done.clear()
        try:
            yield
        finally:
            self._texts_sending -= 1
            if not self._texts_sending:
                self._texts_done.set()

    async def _after_texts(self) -> None:
        """Texts before email in one worker. An email batch is a thousand recipients of
        CPU work, and every text sent meanwhile waits for it (their round trips share
        the event loop); so it waits while this worker sends texts, but no longer than
        ``TEXTS_FIRST_SECONDS``: a trickle of rate-limited texts cannot hold email back."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TEXTS_FIRST_SECONDS):
                await self._texts_done.wait()

    async def _send(self, channel_name: str, ids: Sequence[int]) -> float | None:
        channel = self._channels[channel_name]
        now = utcnow()
        pause = self._pauses.get(channel_name)
        if pause is not None and (until := await pause.until()) is not None:
            # Its provider refuses everyone: the whole batch goes once it may, unclaimed.
            return max(0.0, (until - now).total_seconds())
        # Whole even if the job is cancelled meanwhile (``uncancelled``): then what it
        # claimed is handed back at once, by ``_holding``.
        claimed, prepared = await uncancelled(self._claimed(channel_name, ids, now))
        retry_at: datetime | None = None
        if prepared is not None:
            batch, decided, work = prepared
            async with self._holding(batch):
                await batch.record(decided)
                for content, recipients in work:
                    if batch.refused is not None:  # the rest waits with it (``parking``)
                        await batch.report([(r, batch.refused) for r in recipients])
                        continue
                    results = await channel.send(content, recipients, batch.report)
                    # What the channel did not report as it went is recorded now.
                    await batch.report(list(zip(recipients, results, strict=True)))
            log.info(
                "batch of %d: %d sent, %d not", batch.size, batch.sent, batch.size - batch.sent
            )
            retry_at = batch.retry_at
            if batch.refused is not None:
                parking.alert(channel_name, batch.parked, batch.refused.reason)
            if batch.failed:
                await uncancelled(self._fall_back(batch.failed))
        retry_in = None if retry_at is None else max(0.0, (retry_at - utcnow()).total_seconds())
        if len(claimed) == len(ids):
            return retry_in
        # Some were not ours to send now (sent already, due later, or another worker's):
        # when are they due?
        later = await uncancelled(self._next_due(ids))
        return later if retry_in is None or later is None else min(retry_in, later)

    async def _claimed(
        self, channel_name: str, ids: Sequence[int], now: datetime
    ) -> tuple[list[int], _Prepared | None]:
        """Claim what is due among ``ids`` and read what to send them; the claim commits
        with the read: one connection, one round of each."""
        async with self._sessions() as session, session.begin():
            claimed = await self._claim(session, channel_name, ids, now)
            if not claimed:
                return claimed, None
            return claimed, await self._prepare(session, claimed, now)

    @contextlib.asynccontextmanager
    async def _holding(self, batch: _Batch) -> AsyncIterator[None]:
        """Renew the batch's claims while it is sent (so a slow batch is never taken for a
        lost one); if sending stops early (an error, the job cancelled), hand back what
        was not sent, for the next run to send at once rather than after the lease."""
        async with self._recorder.writing():
            renewing = asyncio.create_task(self._renew(batch))
            try:
                yield
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
                if batch.held:
                    await asyncio.shield(self._release(sorted(batch.held)))

    async def _renew(self, batch: _Batch) -> None:
        every = self._settings.delivery.claim_lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._recorder.renew(sorted(batch.held))
            except Exception:  # the next beat may do better; the lease is three beats long
                log.exception("could not renew the claims of a batch")

    async def _release(self, ids: list[int]) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(DELIVERIES)
                    .where(among(Delivery.id, ids, postgres=self._postgres))
                    .where(Delivery.status == DeliveryStatus.sending)
                    .values(status=DeliveryStatus.pending, next_attempt_at=utcnow())
                )
        except Exception:  # then their lease runs out and the next claim takes them
            log.exception("could not hand back %d unsent deliveries", len(ids))

    async def _fall_back(self, failed: list[int]) -> None:
        """The batch's permanent failures go on by their next channel (``fallback``)."""
        async with self._sessions() as session, session.begin():
            made = await fallback.after_failures(session, failed, now=utcnow())
        if made and self._queue is not None:
            await enqueue_batches(self._queue, batch_up(made, self._settings.delivery))

    async def _claim(
        self, session: AsyncSession, channel_name: str, ids: Sequence[int], now: datetime
    ) -> list[int]:
        """Claim what is due among ``ids`` on ``channel_name``, and what a lost worker
        claimed: a claim not renewed within the lease (``claim_lease_seconds``). Rows of
        another channel are never claimed: an address goes only to its own provider."""
        lapsed = now - timedelta(seconds=self._settings.delivery.claim_lease_seconds)
        result = await session.execute(
            update(DELIVERIES)
            .where(
                among(Delivery.id, ids, postgres=self._postgres),
                Delivery.channel == channel_name,
                or_(
                    and_(
                        Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.held)),
                        Delivery.next_attempt_at <= now,
                    ),
                    and_(Delivery.status == DeliveryStatus.sending, Delivery.claimed_at < lapsed),
                ),
            )
            .values(status=DeliveryStatus.sending, claimed_at=now, attempts=Delivery.attempts + 1)
            .returning(Delivery.id)
        )
        return list(result.scalars())

    async def _prepare(self, session: AsyncSession, claimed: list[int], now: datetime) -> _Prepared:
        """The claimed rows as a batch, the outcomes decided without a provider (no
        address, suppressed, superseded, too late), and the rest as (content, recipients)."""
        address = address_by_channel(Delivery.channel)
        suppressed = (
            select(Suppression.reason)
            .where(Suppression.channel == Delivery.channel, Suppression.address == address)
            .limit(1)
            .scalar_subquery()
        )
        # Through the connection: Core rows. The session would pass each of a thousand
        # rows' 17 columns through an ORM getter first, for rows of plain columns.
        connection = await session.connection()
        result = await connection.execute(
            select(
                Delivery.id,
                Delivery.channel,
                Delivery.attempts,
                Delivery.created_at,
                Delivery.notification_id,
                Customer.id.label("customer_id"),
                Customer.given_name,
                Customer.family_name,
                Customer.locale,
                address.label("address"),
                suppressed.label("suppressed"),
                *care.COLUMNS,  # the recipient's time_zone among them
            )
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(among(Delivery.id, claimed, postgres=self._postgres))
            .order_by(Delivery.id)
        )
        # Named tuples: a column read by name from a Row costs about 15 times what it
        # costs from a named tuple, and each row's are read some twenty times here and
        # in ``care``; the copy costs about one such read.
        as_tuple = _named_tuple(tuple(result.keys()))._make
        rows = [as_tuple(row) for row in result]
        notifications = {
            n.id: n
            for n in await session.scalars(
                select(Notification).where(Notification.id.in_({r.notification_id for r in rows}))
            )
        }
        superseded = await self._superseded(session, set(notifications))
        # Quiet hours, folding, no spam: what these hold back or fold is written there.
        policies = await care.decide(
            session,
            [r for r in rows if r.address and not r.suppressed],
            notifications,
            superseded,
            self._settings.delivery,
            now=now,
            postgres=self._postgres,
        )
        if held_or_folded := policies.decided:
            rows = [r for r in rows if r.id not in held_or_folded]
        deadline = timedelta(minutes=self._settings.delivery.deadline_minutes)
        # Rendered once per (notification, channel, locale); each recipient's times, in
        # their own zone, are values of their own (``messages.with_time_tokens``).
        groups: dict[tuple[str, str, str], list[tuple[Recipient, str]]] = {}
        decided: list[tuple[int, Outcome]] = []
        customer_of: dict[int, str] = {}
        secret = self._settings.secret_key.get_secret_value()
        public = str(self._settings.public_url).rstrip("/")
        page_zone = self._settings.page_time_zone
        zones: dict[str | None, str] = {}
        claimed_rows: list[Claimed] = []
        for row in rows:
            delivery_id, channel, notification_id = row.id, row.channel, row.notification_id
            # A row never tried nor held (most of them) starts its deadline at creation.
            since = row.created_at if row.last_error is None else care.since(row)
            claimed_rows.append(Claimed(delivery_id, channel, row.attempts, since))
            if not row.address:
                decided.append(
                    (delivery_id, DeliveryError("the address was removed", permanent=True))
                )
            elif row.suppressed:
                decided.append((delivery_id, DeliveryError.suppressed_address(row.suppressed)))
            elif row.attempts > 1 and notification_id in superseded:
                # A late retry of an old update would only confuse: a newer one exists.
                decided.append(
                    (
                        delivery_id,
                        DeliveryError(fallback.SUPERSEDED, permanent=True, late=True),
                    )
                )
            elif now - since > deadline:
                decided.append(
                    (
                        delivery_id,
                        DeliveryError(fallback.PAST_DEADLINE, permanent=True, late=True),
                    )
                )
            else:
                customer_id, locale = row.customer_id, row.locale
                token = links.sign(secret, "unsubscribe", f"{customer_id}:{channel}")
                manage = links.manage_token(secret, customer_id, channel)
                recipient = Recipient(
                    delivery_id=delivery_id,
                    address=row.address,
                    values={
                        "greeting": messages.greeting(locale, row.given_name, row.family_name),
                        "unsubscribe_url": f"{public}/unsubscribe/{token}",
                        "manage_url": f"{public}/manage/{manage}",
                    },
                )
                if (zone := zones.get(row.time_zone)) is None:
                    zone = zones[row.time_zone] = messages.recipient_zone(row.time_zone, page_zone)
                groups.setdefault((notification_id, channel, locale), []).append((recipient, zone))
                customer_of[delivery_id] = customer_id
        prompts = await _prompts(
            session, [n for n, _c, _l in groups if notifications[n].event in RATING], customer_of
        )
        work = []
        overrides = await message_templates.current(session) if groups else {}
        for (notification_id, channel, locale), zoned in groups.items():
            notification = notifications[notification_id]
            context = await self._context(session, notification, locale)
            moments = await self._moments(session, notification)
            written = {
                zone: self._written(moments, notification.id, locale, zone)
                for zone in {zone for _recipient, zone in zoned}
            }
            recipients = []
            for recipient, zone in zoned:
                recipient.values["url"] = context["url"]
                recipient.values.update(written[zone])
                prompt = prompts.get((notification_id, customer_of[recipient.delivery_id]))
                if prompt is not None:  # its score links, signed for this prompt
                    signed = links.rating_token(secret, prompt)
                    for score in context["scores"]:
                        path = links.rating_path(signed, score)
                        recipient.values[f"rating_url_{score}"] = public + path
                recipients.append(recipient)
            if channel == ChannelName.sms:  # fitted to this batch's longest values
                longest, ucs2 = _longest(recipients)
                content = render(
                    notification.event,
                    channel,
                    locale,
                    context,
                    overrides,
                    sms_max_segments=self._settings.delivery.sms_max_segments,
                    values=longest,
                    ucs2=ucs2,
                )
            else:
                content = self._content(notification, channel, locale, context, overrides)
            work.append((content, recipients))
        batch = _Batch(self._recorder, claimed_rows)
        batch.retry_at = policies.due  # the held ones' job runs again when they are due
        return batch, decided, work

    async def _context(
        self, session: AsyncSession, notification: Notification, locale: str
    ) -> dict[str, Any]:
        """The context for every zone: its times as tokens."""
        key = (notification.id, locale)
        if key in self._contexts:
            return self._contexts[key]
        said = await messages.context(session, notification, self._settings, locale)
        return _remember(self._contexts, key, messages.with_time_tokens(said))

    def _content(
        self,
        notification: Notification,
        channel: str,
        locale: str,
        context: dict[str, Any],
        overrides: Overrides,
    ) -> Content:
        """An email or in-app message, rendered once per notification, channel, locale and
        set of overrides, not per batch (its context is the same for every batch, and the
        email's layout is inlined CSS, the costliest rendering)."""
        key = (notification.id, channel, locale, frozenset(overrides.items()))
        if key in self._contents:
            return self._contents[key]
        content = render(notification.event, channel, locale, context, overrides)
        return _remember(self._contents, key, content)

    async def _moments(self, session: AsyncSession, notification: Notification) -> messages.Moments:
        if notification.id in self._moments_of:
            return self._moments_of[notification.id]
        moments = await messages.moments(session, notification)
        return _remember(self._moments_of, notification.id, moments)

    def _written(
        self, moments: messages.Moments, notification_id: str, locale: str, zone: str
    ) -> dict[str, str]:
        """The times a notification tells (its ``moments``), written in ``zone`` and
        ``locale``: the values of its context's time tokens (those with a time only),
        once per zone, not per recipient (babel's formatting costs more than the lookup)."""
        key = (notification_id, locale, zone)
        if key in self._times:
            return self._times[key]
        written = moments.written(zone, locale)
        return _remember(
            self._times, key, {name: value for name, value in written.items() if value}
        )

    async def _superseded(self, session: AsyncSession, ids: set[str]) -> set[str]:
        """Notifications for which a newer one about the same subject exists (a rating
        prompt is no news: it supersedes nothing)."""
        if not ids:
            return set()
        newer = Notification.__table__.alias("newer")
        rows = await session.execute(
            select(Notification.id)
            .where(Notification.id.in_(ids))
            .where(
                select(newer.c.id)
                .where(
                    newer.c.subject_id == Notification.subject_id,
                    newer.c.created_at > Notification.created_at,
                    newer.c.event.not_in(RATING),
                )
                .exists()
            )
        )
        return set(rows.scalars())

    async def _next_due(self, ids: Sequence[int]) -> float | None:
        """Seconds until some of ``ids`` can be claimed: a retry falls due, or another
        worker's claim would lapse (a live worker will have sent them by then)."""
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(
                        func.min(
                            case(
                                (
                                    Delivery.status.in_(
                                        (DeliveryStatus.pending, DeliveryStatus.held)
                                    ),
                                    Delivery.next_attempt_at,
                                )
                            )
                        ).label("retry"),
                        func.min(
                            case((Delivery.status == DeliveryStatus.sending, Delivery.claimed_at))
                        ).label("claim"),
                    ).where(
                        among(Delivery.id, ids, postgres=self._postgres),
                        Delivery.status.in_(
                            (DeliveryStatus.pending, DeliveryStatus.held, DeliveryStatus.sending)
                        ),
                    )
                )
            ).one()
            retry, claim = found.retry, found.claim
        lease = timedelta(seconds=self._settings.delivery.claim_lease_seconds)
        due = [_aware(retry)] if retry is not None else []
        due += [_aware(claim) + lease] if claim is not None else []
        if not due:
            return None
        return max(0.0, (min(due) - utcnow()).total_seconds())


class _Batch:
    """One batch's claimed rows while it is sent: which are still held (claimed, no
    outcome recorded), what became of the others, and when a retry falls due."""

    def __init__(self, recorder: Recorder, rows: list[Claimed]) -> None:
        self._recorder = recorder
        self._rows = {row.id: row for row in rows}
        self.held = set(self._rows)
        self.size = len(rows)
        self.sent = 0
        self.parked = 0
        # Failed for good, and worth sending by another channel (``fallback``).
        self.failed: list[int] = []
        self.retry_at: datetime | None = None
        # The provider's refusal of our credentials, once one came (``alert_ops``).
        self.refused: DeliveryError | None = None

    async def report(self, outcomes: Sequence[tuple[Recipient, Outcome]]) -> None:
        """Record these outcomes now (the channel's ``report``)."""
        await self._write([(r.delivery_id, outcome, r.address) for r, outcome in outcomes])

    async def record(self, outcomes: Sequence[tuple[int, Outcome]]) -> None:
        """Record outcomes decided without a provider: (delivery id, outcome) pairs."""
        await self._write([(delivery_id, outcome, "") for delivery_id, outcome in outcomes])

    async def _write(self, outcomes: list[tuple[int, Outcome, str]]) -> None:
        mine = [(self._rows[i], o, to) for i, o, to in outcomes if i in self.held]
        if not mine:
            return
        self.held.difference_update(row.id for row, _o, _to in mine)
        for _row, outcome, _to in mine:
            if isinstance(outcome, DeliveryError) and outcome.alert_ops and self.refused is None:
                self.refused = outcome
        for (_row, outcome, _to), new in zip(mine, await self._recorder.record(mine), strict=True):
            status = DeliveryStatus(new["status"])
            if isinstance(outcome, DeliveryError) and outcome.falls_back:
                self.failed.append(new["id"])
            self.sent += status.reached_provider
            self.parked += status == DeliveryStatus.parked
            due = new["next_attempt_at"]
            if due is not None and (self.retry_at is None or due < self.retry_at):
                self.retry_at = due


# A claimed batch, the outcomes decided without a provider, and the rest to send.
_Prepared = tuple[_Batch, list[tuple[int, Outcome]], list[tuple[Content, list[Recipient]]]]


async def _prompts(
    session: AsyncSession, notification_ids: Sequence[str], customer_of: Mapping[int, str]
) -> dict[tuple[str, str], str]:
    """(notification id, customer id) -> the id of the rating prompt that notification
    carries to that customer, for the rating notifications among ``notification_ids``."""
    if not notification_ids:
        return {}
    found = await session.execute(
        select(RatingPrompt.notification_id, RatingPrompt.customer_id, RatingPrompt.id).where(
            RatingPrompt.notification_id.in_(set(notification_ids)),
            RatingPrompt.customer_id.in_(set(customer_of.values())),
        )
    )
    return {(str(r.notification_id), r.customer_id): r.id for r in found}


def _longest(recipients: Sequence[Recipient]) -> tuple[dict[str, str], bool]:
    """Per token, the longest value among ``recipients`` (what an SMS is fitted to), and
    whether any value is not GSM-7 (that recipient's whole text is then UCS-2)."""
    longest: dict[str, str] = {}
    ucs2 = False
    for recipient in recipients:
        for name, value in recipient.values.items():
            if len(value) > len(longest.get(name, "")):
                longest[name] = value
            ucs2 = ucs2 or encoding(value) != "GSM-7"
    return longest, ucs2


@functools.cache
def _named_tuple(fields: tuple[str, ...]) -> Any:
    """A named tuple class with these fields (the batch query's columns)."""
    return collections.namedtuple("BatchRow", fields)


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """Keep ``value`` under ``key`` in one of the sender's caches, dropping the oldest
    entry once it holds ``CONTEXT_CACHE``; returns ``value``."""
    if len(cache) >= CONTEXT_CACHE:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def _aware(at: Any) -> datetime:
    """A MIN() over a datetime column: SQLite's bypasses the column type."""
    if isinstance(at, datetime) and at.tzinfo is not None:
        return at
    return datetime.fromisoformat(str(at)).replace(tzinfo=UTC)


# Kept here for callers that retry sends of their own (sign-up messages).
__all__ = ["Sender", "backoff"]
