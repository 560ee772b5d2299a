"""Fan-out: turn one notification into delivery rows, a page of the audience at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from config import DeliverySettings
from notifier.delivery import audience, fallback, metrics
from notifier.statuses import ChannelName, DeliveryStatus, NotificationStatus
from notifier.tables import Delivery, Notification

# Fan-out's order: texts are short, urgent and read within seconds; in-app next; email,
# the bulk, last.
ORDER = (ChannelName.sms, ChannelName.inapp, ChannelName.email)
FIRST: dict[str, int] = {channel: i for i, channel in enumerate(ORDER)}
# Fan-out's steps: before the channels, the members who ordered theirs (few, and each
# gets one channel first: ``notifier.delivery.fallback``).
ORDERED = "ordered"
STEPS = (ORDERED, *ORDER)


@dataclass(frozen=True)
class Batch:
    """Deliveries of one channel sent by one ``send_batch`` job: ids ascending (its job
    id is ``notifier.delivery.jobs.send_batch_id``)."""

    channel: str
    delivery_ids: list[int]


def insert_ignoring_duplicates(session: AsyncSession, mapped: Any) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on either engine, on the plain table (the ORM's
    bulk path costs more per row than the rows do)."""
    table = mapped.__table__
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def fan_out_page(
    session: AsyncSession, notification_id: str, settings: DeliverySettings, *, now: datetime
) -> tuple[list[Batch], bool]:
    """Add the deliveries of the next page of the audience; returns its batches and
    whether the fan-out is complete. First the members who ordered their channels
    (``ORDERED``), then channel by channel, in ``ORDER``: every text is
    queued before the first email, so a large audience's email does not hold them up.
    Safe to re-run: rows are unique per (notification, customer, channel) and the
    cursor only moves on commit (rows a re-run finds already there are left to the
    sweeper). The SMS channel gets no rows for an event not in ``sms_events``."""
    found = (
        await session.execute(
            select(
                Notification.status,
                Notification.cursor_channel,
                Notification.cursor,
                Notification.audience,
                Notification.event,
            )
            .where(Notification.id == notification_id)
            .with_for_update()
        )
    ).first()
    if found is None or found.status == NotificationStatus.done:
        return [], True
    channel, after = found.cursor_channel or STEPS[0], found.cursor
    ordered: list[tuple[int, str, str]] = []
    if channel == ORDERED:
        ordered, last = await _fan_out_ordered(session, notification_id, found, settings, now=now)
        if last is not None:  # a full page: more of them next time
            await _move_cursor(session, notification_id, ORDERED, last, False, now=now)
            return batch_up(ordered, settings), False
        # The rest of this step is the first channel's first page: no step of its own.
        channel, after = ORDER[0], ""
    members: Sequence[Any] = []
    # Texts cost money: only the events the page sends by SMS (``sms_events``) get rows.
    if channel != ChannelName.sms or found.event in settings.sms_events:
        members = (
            await session.execute(
                audience.page(found.audience, channel, after=after, limit=settings.fanout_page_size)
            )
        ).all()
    created: list[tuple[int, str, str]] = []
    if members:
        locale = {member.id: member.locale for member in members}
        rows = audience.rows(
            found.audience,
            channel,
            notification_id,
            after=after,
            upto=members[-1].id,
            now=now,
        )
        result = await session.execute(
            insert_ignoring_duplicates(session, Delivery)
            .from_select(audience.COLUMNS, rows)
            .returning(Delivery.id, Delivery.customer_id, Delivery.status)
        )
        written = result.all()
        metrics.count((channel, r.status) for r in written if r.status != DeliveryStatus.pending)
        created = [
            (row.id, channel, locale[row.customer_id])
            for row in written
            if row.status == DeliveryStatus.pending
        ]
    cursor_channel, cursor = channel, members[-1].id if members else after
    if len(members) < settings.fanout_page_size:  # this channel is done
        cursor_channel, cursor, done = _next_step(channel)
    else:
        done = False
    await _move_cursor(session, notification_id, cursor_channel, cursor, done, now=now)
    return batch_up(ordered, settings) + batch_up(sorted(created), settings), done


async def _fan_out_ordered(
    session: AsyncSession,
    notification_id: str,
    found: Any,
    settings: DeliverySettings,
    *,
    now: datetime,
) -> tuple[list[tuple[int, str, str]], str | None]:
    """The ``ORDERED`` step: a page of the members who ordered their channels, each given
    the first channel of their order that can reach them (``fallback.advance``). Returns
    the pending rows made, and the last member if the page was full (None: step done)."""
    members = list(
        (
            await session.scalars(
                audience.ordered_page(
                    found.audience, after=found.cursor, limit=settings.fanout_page_size
                )
            )
        ).all()
    )
    steps = [fallback.Step(notification_id, member) for member in members]
    # Their order too passes over SMS for an event the page does not text.
    skip = () if found.event in settings.sms_events else (ChannelName.sms,)
    created = await fallback.advance(session, steps, now=now, skip=skip) if steps else []
    full = len(members) == settings.fanout_page_size
    return created, members[-1] if full else None


def _next_step(step: str) -> tuple[str, str, bool]:
    """The cursor (step, member) after ``step`` is done, and whether fan-out is."""
    following = STEPS.index(step) + 1
    if following < len(STEPS):
        return STEPS[following], "", False
    return "", "", True


async def _move_cursor(
    session: AsyncSession,
    notification_id: str,
    cursor_channel: str,
    cursor: str,
    done: bool,
    *,
    now: datetime,
) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(
            status=NotificationStatus.done if done else NotificationStatus.fanning_out,
            cursor_channel=cursor_channel,
            cursor=cursor,
            fanned_out_at=now if done else None,
        )
    )


def batch_up(rows: Sequence[tuple[int, str, str]], settings: DeliverySettings) -> list[Batch]:
    """Send batches of (id, channel, locale) rows: one channel and locale each, so one
    rendering serves the whole batch."""
    size: dict[str, int] = {
        ChannelName.email: settings.email_batch_size,
        ChannelName.sms: settings.sms_batch_size,
    }
    groups: dict[tuple[str, str], list[int]] = {}
    for delivery_id, channel, locale in rows:
        groups.setdefault((channel, locale), []).append(delivery_id)
    batches = []
    # Texts first: short, urgent, and read within seconds; a page's email can wait for them.
    for (channel, _locale), ids in sorted(groups.items(), key=lambda g: FIRST.get(g[0][0], 1)):
        step = size.get(channel, 1000)
        batches += [Batch(channel, ids[i : i + step]) for i in range(0, len(ids), step)]
    return batches
