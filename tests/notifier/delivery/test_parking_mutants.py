"""``resume`` makes parked deliveries due for the sweeper's very next pass, whatever
its grace period (``sweep_grace_seconds``, 30 s by default; the other tests run with 0,
where a resume due only "now" looked the same). bench/mutations.toml: "resumed
deliveries are due only after the sweeper's grace"."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.db import utcnow
from notifier.delivery import parking, sweeper
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeTwilio
from tests.fakes.base import Failure
from tests.fakes.twilio import error
from tests.notifier.delivery.deliveries import rows, with_delivery
from tests.notifier.delivery.test_sending import add_audience, post_incident, run_worker

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]
REFUSED = Failure(status=401, body=error(20003, "Authenticate", 401), times=-1)


@pytest.fixture
def one_at_a_time(provider_settings: Settings) -> Settings:
    return with_delivery(provider_settings, sms_concurrency=1)


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, one_at_a_time: Settings) -> Client:
    return await aiohttp_client(create_app(one_at_a_time))


async def test_resumed_deliveries_are_found_by_the_next_sweep_despite_its_grace(
    api: Client,
    admin: Headers,
    one_at_a_time: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(one_at_a_time, 2, email=False, phone=True)
    twilio.fail(REFUSED)
    await post_incident(api, admin)
    await run_worker(one_at_a_time)
    parked = sorted(r.id for r in await rows(sessions))
    assert [r.status for r in await rows(sessions)] == ["parked", "parked"]

    graced = with_delivery(one_at_a_time, sweep_grace_seconds=30).delivery
    now = utcnow()
    async with sessions() as session, session.begin():
        assert await parking.resume(session, graced, now=now) == {"sms": 2}
    async with sessions() as session, session.begin():
        found = await sweeper.sweep(session, graced, now=now)
    assert sorted(i for batch in found.batches for i in batch.delivery_ids) == parked
