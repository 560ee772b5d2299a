"""Claims and outcomes while a batch is sent: each call recorded as it returns, claims
renewed while a live worker holds them, taken over once they lapse, handed back when a
batch stops early. Real Sender, loopback Twilio, real database and Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
import redis.asyncio
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import fanout, sweeper
from notifier.delivery.channels import registry
from notifier.delivery.sending import Sender
from notifier.tables import Customer, Delivery, Notification
from tests.conftest import Client, make_settings
from tests.fakes import FakeTwilio

Sessions = async_sessionmaker[AsyncSession]
NUMBERS = [f"+1415555010{i}" for i in range(4)]


class HeldTwilio(FakeTwilio):
    """A fake Twilio that keeps the calls to ``held`` numbers waiting until ``release``."""

    def __init__(self) -> None:
        super().__init__(account_sid="AC" + "1" * 32, auth_token="e" * 32)
        self.held: set[str] = set()
        self.release = asyncio.Event()
        self.app.middlewares.append(self._hold)

    @web.middleware
    async def _hold(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if (await request.post()).get("To") in self.held:
            await self.release.wait()
        return await handler(request)


@pytest.fixture
async def held_twilio() -> AsyncIterator[HeldTwilio]:
    fake = HeldTwilio()
    await fake.start()
    yield fake
    fake.release.set()
    fake.answering.set()
    await fake.stop()


@pytest.fixture
def lease_settings(database_url: str, redis_url: str, held_twilio: HeldTwilio) -> Settings:
    """Texts through the held fake, a one-second lease, two texts at a time."""
    return make_settings(
        database_url,
        redis_url,
        twilio={
            "account_sid": held_twilio.account_sid,
            "auth_token": held_twilio.auth_token,
            "from_number": "+15005550006",
            "base_url": held_twilio.url,
        },
        delivery={"claim_lease_seconds": 1, "sms_concurrency": 2, "retry_base_seconds": 0.05},
    )


@contextlib.asynccontextmanager
async def sender_for(settings: Settings, sessions: Sessions) -> AsyncIterator[Sender]:
    """A worker's Sender, as ``forewarn worker`` builds it."""
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    async with AsyncExitStack() as stack:
        channels = await registry.build(settings, sessions, client, stack)
        yield Sender(sessions, channels, settings)
    await client.aclose()


async def text_deliveries(client: Client, admin: dict[str, str], sessions: Sessions) -> list[int]:
    """An incident's delivery rows for ``NUMBERS``, in that order: fanned out, not sent."""
    for i, number in enumerate(NUMBERS):
        response = await client.put(
            f"/api/v1/customers/texter-{i}",
            json={
                "phone": number,
                "consent": {"channels": ["sms"], "legal_basis": "contract"},
                "follows": {"page": True},
            },
            headers=admin,
        )
        assert response.status == 201, await response.text()
    posted = await client.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "body": "Some payments fail."},
        headers=admin,
    )
    assert posted.status == 201
    settings = Settings(_env_file=None).delivery
    async with sessions() as session, session.begin():
        notification_id = await session.scalar(select(Notification.id))
        assert notification_id is not None
        done = False
        while not done:
            _batches, done = await fanout.fan_out_page(
                session, notification_id, settings, now=utcnow()
            )
        rows = await session.execute(
            select(Customer.phone, Delivery.id).join(Customer, Customer.id == Delivery.customer_id)
        )
        ids = {str(phone): delivery_id for phone, delivery_id in rows}
    return [ids[number] for number in NUMBERS]


async def states(sessions: Sessions) -> dict[str, str]:
    """Each number's delivery status."""
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.phone, Delivery.status).join(
                Customer, Customer.id == Delivery.customer_id
            )
        )
        return {str(phone): status for phone, status in rows}


async def until(condition: object, what: str) -> None:
    assert callable(condition)
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def test_each_text_is_recorded_as_its_call_returns_not_when_the_batch_ends(
    client: Client,
    admin: dict[str, str],
    lease_settings: Settings,
    sessions: Sessions,
    held_twilio: HeldTwilio,
) -> None:
    ids = await text_deliveries(client, admin, sessions)
    slow = NUMBERS[0]
    twilio = held_twilio
    twilio.held.add(slow)
    async with sender_for(lease_settings, sessions) as sender:
        batch = asyncio.create_task(sender.send("sms", ids))

        async def others_recorded() -> bool:
            return (await states(sessions)) == {slow: "sending"} | {n: "sent" for n in NUMBERS[1:]}

        # The batch still waits on one call; the three that returned are recorded.
        await until(others_recorded, "the answered texts recorded")
        assert not batch.done()
        # Stopped early (its job cancelled), the batch hands back what it did not send.
        batch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await batch
    assert await states(sessions) == {slow: "pending"} | {n: "sent" for n in NUMBERS[1:]}
    assert sorted(twilio.delivered) == NUMBERS[1:]


async def test_a_live_workers_slow_batch_keeps_its_claims_past_the_lease(
    client: Client,
    admin: dict[str, str],
    lease_settings: Settings,
    sessions: Sessions,
    held_twilio: HeldTwilio,
) -> None:
    ids = await text_deliveries(client, admin, sessions)
    twilio = held_twilio
    twilio.answering.clear()  # Twilio holds every answer
    async with (
        sender_for(lease_settings, sessions) as live,
        sender_for(lease_settings, sessions) as other,
    ):
        batch = asyncio.create_task(live.send("sms", ids))
        await until(lambda: _asked(twilio, 2), "two texts asked")
        await asyncio.sleep(2.5)  # over twice the lease: only renewals keep the claims

        # Another worker's run of the same batch sends nothing and comes back later...
        again = await other.send("sms", ids)
        async with sessions() as session, session.begin():
            swept = await sweeper.sweep(session, lease_settings.delivery, now=utcnow())
        assert again is not None
        assert 0 < again <= 1
        # ...and the sweeper releases nothing.
        assert swept.released == 0
        assert twilio.journal.count("sms asked") == 2

        twilio.answering.set()
        assert await batch is None
    assert sorted(twilio.delivered) == NUMBERS
    assert set((await states(sessions)).values()) == {"sent"}


async def test_a_claim_not_renewed_within_the_lease_is_taken_over_by_the_next_run(
    client: Client,
    admin: dict[str, str],
    lease_settings: Settings,
    sessions: Sessions,
    held_twilio: HeldTwilio,
) -> None:
    ids = await text_deliveries(client, admin, sessions)
    twilio = held_twilio
    # Claimed by a worker that died: one claim lapsed, one still within its lease.
    now = utcnow()
    async with sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.id == ids[0])
            .values(status="sending", attempts=1, claimed_at=now - timedelta(seconds=5))
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id == ids[1])
            .values(status="sending", attempts=1, claimed_at=now + timedelta(seconds=30))
        )
    async with sender_for(lease_settings, sessions) as sender:
        later = await sender.send("sms", ids)

    assert sorted(twilio.delivered) == [NUMBERS[0], *NUMBERS[2:]]
    assert await states(sessions) == {n: "sent" for n in NUMBERS} | {NUMBERS[1]: "sending"}
    # The run comes back when the live claim would lapse.
    assert later is not None
    assert later > 1


async def _asked(twilio: FakeTwilio, count: int) -> bool:
    return twilio.journal.count("sms asked") >= count
