from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import DeliverySettings, Settings
from notifier.db import utcnow
from notifier.delivery.fanout import batch_up, fan_out_page
from notifier.tables import Customer, Notification, Suppression
from tests.conftest import Client
from tests.notifier.delivery.deliveries import rows
from tests.notifier.delivery.test_sending import add_audience, enqueue, post_incident, run_worker
from tests.status_page.signups import outbox

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]


def test_batches_hold_one_channel_and_language_up_to_the_channels_size_texts_first() -> None:
    settings = DeliverySettings(email_batch_size=2, sms_batch_size=3)
    rows = [(i, "email", "en") for i in range(1, 6)]
    rows += [(i, "email", "ja") for i in range(6, 8)]
    rows += [(i, "sms", "en") for i in range(8, 12)]
    rows += [(12, "inapp", "en")]

    batches = [(b.channel, b.delivery_ids) for b in batch_up(rows, settings)]

    assert batches == [
        ("sms", [8, 9, 10]),
        ("sms", [11]),
        ("inapp", [12]),
        ("email", [1, 2]),
        ("email", [3, 4]),
        ("email", [5]),
        ("email", [6, 7]),
    ]


async def test_a_page_batches_only_what_is_to_be_sent(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    [kept, bounced] = await add_audience(settings, 2)
    async with sessions() as session, session.begin():
        address = await session.scalar(select(Customer.email).where(Customer.id == bounced))
        assert address is not None
        session.add(Suppression(channel="email", address=address, reason="bounce"))
    await post_incident(client, admin)

    batched = await fan_out_all(sessions, settings)

    found = await rows(sessions)
    assert [(r.customer_id, r.status) for r in found] == [
        (kept, "pending"),
        (bounced, "suppressed"),
    ]
    assert batched == [found[0].id]


async def test_a_finished_fan_out_run_again_adds_nobody_who_came_later(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    # arq retries a job whose worker died after its last commit; the sweeper may
    # enqueue it again too. A customer who subscribed since is not told of the past.
    await add_audience(settings, 2)
    await post_incident(client, admin)
    await run_worker(settings)
    async with sessions() as session:
        [notification] = (await session.scalars(select(Notification))).all()
    finished = notification.fanned_out_at
    await add_audience(settings, 1)

    await enqueue(settings, "fan_out", notification.id)
    await run_worker(settings)

    assert len(await outbox(client)) == 2
    assert len(await rows(sessions)) == 2
    async with sessions() as session:
        [notification] = (await session.scalars(select(Notification))).all()
    assert (notification.status, notification.fanned_out_at) == ("done", finished)


async def fan_out_all(sessions: Sessions, settings: Settings) -> list[int]:
    """Every page of the one notification; the delivery ids batched for sending."""
    async with sessions() as session:
        [notification_id] = (await session.scalars(select(Notification.id))).all()
    batched: list[int] = []
    done = False
    while not done:
        async with sessions() as session, session.begin():
            batches, done = await fan_out_page(
                session, notification_id, settings.delivery, now=utcnow()
            )
        batched += [i for b in batches for i in b.delivery_ids]
    return batched
