"""Job functions; each is a thin call into ``notifier``. Their names, ids and
enqueueing belong to ``notifier.delivery.jobs``; ``workers.settings`` registers them."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import aiohttp
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import holding, idempotency, maintenance, notifications, promises, signup
from notifier.care import follow_ups, prompts
from notifier.db import uncancelled, utcnow
from notifier.delivery import fallback, fanout, metrics, on_call, signup_messages, sweeper
from notifier.delivery.channels.base import DeliveryError
from notifier.delivery.fanout import batch_up
from notifier.delivery.jobs import enqueue_batches, enqueue_fan_outs, enqueue_signup_messages
from notifier.delivery.outcomes import backoff
from notifier.delivery.sending import Sender
from notifier.page import generation as page_generation
from notifier.page.publishing import Publisher
from notifier.page.snapshot import SnapshotError

log = logging.getLogger(__name__)
Ctx = dict[str, Any]
# A sign-up message whose job has not run this long after its commit was lost with Redis.
SIGNUP_GRACE = timedelta(seconds=60)


def _sessions(ctx: Ctx) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    return sessions


def _publishing(ctx: Ctx) -> bool:
    settings: Settings = ctx["settings"]
    return settings.snapshot.publishing


async def publish_page(ctx: Ctx, token: str) -> bool:
    """Publish the page's static snapshot for the bump that set ``token``, unless a newer
    bump came since (``notifier.page.publishing``); True if it published. A failure is
    logged: ``refresh_page`` tries again within a minute."""
    publisher: Publisher | None = ctx.get("publisher")
    if publisher is None:
        return False
    try:
        return await publisher.publish(token)
    except (SnapshotError, OSError) as exc:
        log.warning("could not publish the page: %s", exc)
        return False


async def refresh_page(ctx: Ctx) -> bool:
    """Publish the page if what is published is not current, from another day in the
    page's zone, or old (``notifier.page.publishing``); True if it published."""
    publisher: Publisher | None = ctx.get("publisher")
    if publisher is None:
        return False
    try:
        return await publisher.refresh()
    except (SnapshotError, OSError) as exc:
        log.warning("could not publish the page: %s", exc)
        return False


async def fan_out(ctx: Ctx, notification_id: str) -> None:
    """Turn a notification into deliveries, a page at a time, enqueueing each page's batches."""
    settings: Settings = ctx["settings"]
    started = time.perf_counter()
    if ctx.get("job_try", 1) > 1:
        # An earlier run was lost with its worker, perhaps between a page's commit and
        # the enqueue of its batches: queue what is unsent before going on.
        after: int | None = 0
        while after is not None:
            async with _sessions(ctx)() as session:
                batches, after = await sweeper.unsent(
                    session, notification_id, settings.delivery, after=after
                )
            await enqueue_batches(ctx["redis"], batches)
    done = False
    while not done:
        # A page whole, committed and enqueued, even if the job is cancelled meanwhile (a
        # stopping worker): the cancellation comes between pages (``uncancelled``).
        done = await uncancelled(_fan_out_page(ctx, notification_id))
    metrics.fan_out_seconds().observe(time.perf_counter() - started)


async def _fan_out_page(ctx: Ctx, notification_id: str) -> bool:
    """One page of ``fan_out``; True once it was the last."""
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as session, session.begin():
        batches, done = await fanout.fan_out_page(
            session, notification_id, settings.delivery, now=utcnow()
        )
    await enqueue_batches(ctx["redis"], batches)
    metrics.count_fanned_out(batches)
    return done


async def send_batch(ctx: Ctx, channel: str, delivery_ids: list[int]) -> None:
    """Send what is due among ``delivery_ids`` on ``channel``; raises arq's ``Retry``
    (deferred by seconds) while some are due again later."""
    sender: Sender = ctx["sender"]
    delay = await sender.send(channel, delivery_ids)
    if delay is not None:
        raise Retry(defer=max(delay, 0.1))


async def sweep(ctx: Ctx) -> None:
    """Re-enqueue what is due and not done (after a flushed Redis or a killed worker)."""
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as session, session.begin():
        found = await sweeper.sweep(session, settings.delivery, now=utcnow())
    if found.fan_outs or found.batches or found.released:
        log.info(
            "sweeper: %d fan-outs, %d batches re-enqueued, %d lost claims released, "
            "%d lost fallbacks written",
            len(found.fan_outs),
            len(found.batches),
            found.released,
            found.fallbacks,
        )
    await enqueue_fan_outs(ctx["redis"], found.fan_outs)
    await enqueue_batches(ctx["redis"], found.batches)


async def maintenance_tick(ctx: Ctx) -> tuple[int, int]:
    """Start and complete maintenance whose window opened or closed."""
    async with _sessions(ctx)() as session:
        async with session.begin():
            result = await maintenance.auto_transition(session, now=utcnow())
        if any(result):
            await page_generation.bump(ctx["redis"], publish=_publishing(ctx))
        await enqueue_fan_outs(ctx["redis"], notifications.created_in(session))
    return result


async def prune_idempotency(ctx: Ctx) -> int:
    """Forget ``Idempotency-Key``s older than the configured hours; returns how many."""
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as session, session.begin():
        return await idempotency.prune(
            session, older_than=timedelta(hours=settings.idempotency_ttl_hours), now=utcnow()
        )


async def send_signup_message(ctx: Ctx, signup_id: str) -> None:
    """Send a sign-up's confirmation (or 'already subscribed') message, retrying on
    transient provider errors."""
    settings: Settings = ctx["settings"]
    outcome = await signup_messages.send_message(
        _sessions(ctx), ctx["channels"], settings, signup_id, now=utcnow()
    )
    if isinstance(outcome, DeliveryError) and not outcome.permanent:
        delay = backoff(ctx["job_try"], outcome.retry_after, settings.delivery.retry_base_seconds)
        raise Retry(defer=delay)


async def expire_signups(ctx: Ctx) -> int:
    """Purge unconfirmed sign-ups past their expiry; re-enqueue messages whose job was lost."""
    async with _sessions(ctx)() as session, session.begin():
        swept = await signup.sweep(session, now=utcnow(), grace=SIGNUP_GRACE)
    if swept.expired or swept.unsent:
        log.info("sign-ups: %d expired, %d messages re-enqueued", swept.expired, len(swept.unsent))
    await enqueue_signup_messages(ctx["redis"], swept.unsent)
    return swept.expired


async def promise_tick(ctx: Ctx) -> tuple[int, int, int]:
    """Promised updates: post holding updates (when on) for those due, record the
    broken ones, remind ops of those due within the lead; alert ops of both.

    Returns (holding updates, broken, reminded). Each promise is claimed (committed)
    before its alert goes out: a worker killed between the two loses that alert rather
    than sending it twice.
    """
    settings: Settings = ctx["settings"]
    now = utcnow()
    lead = timedelta(minutes=settings.promises.reminder_lead_minutes)
    held = 0
    async with _sessions(ctx)() as session:
        if settings.promises.holding_update:
            async with session.begin():
                held = await holding.post_holding_updates(session, settings, now=now)
            if held:
                await page_generation.bump(ctx["redis"], publish=_publishing(ctx))
            await enqueue_fan_outs(ctx["redis"], notifications.created_in(session))
        async with session.begin():
            broken = await promises.claim_broken(session, now=now)
            due = await promises.claim_reminders(session, now=now, lead=lead)
    if broken or due:
        log.info("promises: %d broken, %d reminders", len(broken), len(due))
    if (broken or due) and settings.on_call.configured:
        alerts: list[tuple[on_call.Kind, list[promises.Due]]] = [
            ("broken", broken),
            ("reminder", due),
        ]
        async with aiohttp.ClientSession() as http:
            for kind, found in alerts:
                for promise in found:
                    await on_call.alert(ctx["channels"], http, settings, promise, kind, now=now)
    return held, len(broken), len(due)


async def maintenance_reminders(ctx: Ctx) -> int:
    """Write the reminder notification of maintenance whose window opens within the
    configured lead (once each); enqueue their fan-outs. Returns how many."""
    settings: Settings = ctx["settings"]
    if not settings.maintenance_reminder_minutes:
        return 0
    lead = timedelta(minutes=settings.maintenance_reminder_minutes)
    async with _sessions(ctx)() as session:
        async with session.begin():
            written = await maintenance.remind(session, now=utcnow(), lead=lead)
        await enqueue_fan_outs(ctx["redis"], notifications.created_in(session))
    return written


async def fall_back_unread(ctx: Ctx) -> int:
    """Send on, by the next channel, in-app messages left unread too long (urgent ones,
    and those of customers with a channel order); returns how many deliveries it made."""
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as session, session.begin():
        made = await fallback.after_unread(session, settings.delivery, now=utcnow())
    if made:
        log.info("unread in-app messages: %d sent on by another channel", len(made))
    await enqueue_batches(ctx["redis"], batch_up(made, settings.delivery))
    return len(made)


async def rating_prompts(ctx: Ctx) -> int:
    """Make the rating prompts now due (``notifier.care.prompts``) and enqueue the
    fan-outs of the notifications carrying them; returns how many notifications."""
    settings: Settings = ctx["settings"]
    async with _sessions(ctx)() as session:
        async with session.begin():
            made = await prompts.make_due(session, settings, now=utcnow())
        if made:
            log.info("rating prompts: %d notifications", len(made))
        await enqueue_fan_outs(ctx["redis"], notifications.created_in(session))
    return len(made)


async def alert_follow_ups(ctx: Ctx) -> int:
    """Tell ops on call of each new follow-up of a low rating; returns how many.

    Each is claimed (committed) before its alert goes out, as ``promise_tick``'s are: a
    second run at the same time finds none, and a worker killed between the two loses
    that alert rather than sending it twice. Without anyone on call they are claimed
    all the same (ops read them through the API), so configuring it later does not
    bring a flood of old ones.
    """
    settings: Settings = ctx["settings"]
    now = utcnow()
    async with _sessions(ctx)() as session, session.begin():
        opened = await follow_ups.claim_unalerted(session, now=now)
    if opened:
        log.info("follow-ups: %d new", len(opened))
    if opened and settings.on_call.configured:
        async with aiohttp.ClientSession() as http:
            for found in opened:
                email, sms = follow_ups.compose(found, settings)
                body = follow_ups.payload(found, settings, now=now)
                sent = await on_call.tell(ctx["channels"], http, settings, email, sms, body)
                log.info("on-call alert of follow-up %s: sent %s", found.follow_up.id, sent)
    return len(opened)
