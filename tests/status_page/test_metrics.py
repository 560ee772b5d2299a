"""``/metrics``: deliveries by channel and outcome after a scenario, HTTP requests by
route pattern (never a path), the page cache, the queue's depth read at scrape time,
the bearer token, and several processes' figures added up from a shared directory.

Counters are process-wide and only grow: each test reads them before and after."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from arq import create_pool
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.delivery.jobs import redis_settings
from notifier.tables import Delivery
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.base import Failure
from tests.forewarn.test_logs import samples
from tests.notifier.delivery.test_sending import (
    add_audience,
    post_incident,
    run_worker,
    run_worker_until,
)
from tests.status_page.test_webhooks import sendgrid_signed, twilio_signed, with_hooks

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]
Key = tuple[tuple[str, str], ...]


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def settings_with_hooks(
    provider_settings: Settings, signing_key: ec.EllipticCurvePrivateKey
) -> Settings:
    return with_hooks(provider_settings, signing_key)


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, settings_with_hooks: Settings) -> Client:
    return await aiohttp_client(create_app(settings_with_hooks))


async def scrape(client: Client, headers: Headers | None = None) -> str:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return await response.text()


def outcomes(text: str) -> dict[Key, float]:
    return samples(text, "forewarn_deliveries_total")


def grown(before: dict[Key, float], after: dict[Key, float]) -> dict[Key, float]:
    """What each sample grew by, for those that grew."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def outcome(channel: str, name: str) -> Key:
    return (("channel", channel), ("outcome", name))


async def test_a_scenarios_deliveries_show_by_channel_and_outcome(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: Sessions,
) -> None:
    before = outcomes(await scrape(api))
    await add_audience(settings_with_hooks, 3, email=True, phone=True)
    # One of the three emails is refused for now (SendGrid 503): retried, then sent.
    sendgrid.fail(Failure(503))
    await post_incident(api, admin)
    await run_worker(settings_with_hooks)
    async with sessions() as session:
        rows = (await session.execute(select(Delivery.channel, Delivery))).all()
    email = next(d for channel, d in rows if channel == "email")
    text = next(d for channel, d in rows if channel == "sms")
    bounce = json.dumps(
        [
            {
                "event": "bounce",
                "email": "x@example.com",
                "sg_event_id": "b1",
                "delivery_id": str(email.id),
                "reason": "550 no such user",
                "type": "bounce",
            }
        ]
    )
    events = "/webhooks/sendgrid/events"
    answer = await api.post(events, data=bounce, headers=sendgrid_signed(signing_key, bounce))
    assert answer.status == 204
    form = {"MessageSid": text.provider_id or "", "MessageStatus": "delivered"}
    status = "/webhooks/twilio/status"
    answer = await api.post(status, data=form, headers=twilio_signed(twilio, status, form))
    assert answer.status == 204

    after = await scrape(api)
    assert grown(before, outcomes(after)) == {
        outcome("email", "retried"): 3,  # one request for the three
        outcome("email", "sent"): 3,
        outcome("email", "bounced"): 1,
        outcome("sms", "sent"): 3,
        outcome("sms", "delivered"): 1,
    }
    assert len(sendgrid.requests) == 2
    assert samples(after, "forewarn_fanout_deliveries_total")[(("channel", "email"),)] >= 3


async def test_requests_are_counted_by_route_pattern_never_by_path(client: Client) -> None:
    token = "tok3n-that-must-not-show"
    await client.get(f"/manage/{token}")
    await client.get(f"/no/such/page/{token}")
    text = await scrape(client)
    requests = samples(text, "forewarn_http_requests_total")
    routes = {dict(key)["route"] for key in requests}
    assert "/manage/{token}" in routes
    assert "(unmatched)" in routes
    assert token not in text
    assert any(
        dict(key)["route"] == "(unmatched)" and dict(key)["status"] == "404" for key in requests
    )


async def test_page_cache_hits_and_misses_are_counted(client: Client) -> None:
    before = samples(await scrape(client), "forewarn_page_cache_requests_total")
    for _ in range(3):
        assert (await client.get("/")).status == 200
    after = samples(await scrape(client), "forewarn_page_cache_requests_total")
    assert grown(before, after) == {(("result", "miss"),): 1, (("result", "hit"),): 2}


async def test_request_times_show_in_the_histogram_of_their_route(client: Client) -> None:
    route = (("route", "/api/v2/status.json"),)
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/api/v2/status.json")).status == 200
    after = await scrape(client)
    # Counted in memory, added to the metrics by the scrape itself: all three show.
    count = grown(
        samples(before, "forewarn_http_request_seconds_count"),
        samples(after, "forewarn_http_request_seconds_count"),
    )
    assert count[route] == 3  # (and /metrics: the first scrape)
    buckets = grown(
        samples(before, "forewarn_http_request_seconds_bucket"),
        samples(after, "forewarn_http_request_seconds_bucket"),
    )
    assert buckets[(("le", "+Inf"), *route)] == 3  # labels sorted by name
    assert all(n <= 3 for key, n in buckets.items() if route[0] in key)
    total = grown(
        samples(before, "forewarn_http_request_seconds_sum"),
        samples(after, "forewarn_http_request_seconds_sum"),
    )
    assert total[route] > 0


async def test_the_queue_depth_is_read_at_scrape_time(client: Client, settings: Settings) -> None:
    pool = await create_pool(redis_settings(settings.redis_url))
    try:
        await pool.enqueue_job("sweep", _job_id="one")
        await pool.enqueue_job("sweep", _job_id="two")
        await pool.enqueue_job("sweep", _job_id="later", _defer_by=600)
    finally:
        await pool.aclose()
    jobs = samples(await scrape(client), "forewarn_queue_jobs")
    assert jobs == {(("state", "due"),): 2, (("state", "scheduled"),): 1}


async def test_waiting_deliveries_are_counted_at_scrape_time(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(settings_with_hooks, 2)
    await post_incident(api, admin)
    await run_worker(settings_with_hooks, max_burst_jobs=1)  # the fan-out only
    assert samples(await scrape(api), "forewarn_deliveries_waiting") == {
        (("channel", "email"), ("why", "queued")): 2
    }

    async def retrying() -> bool:
        async with sessions() as session:
            found = await session.scalars(select(Delivery.status).where(Delivery.attempts > 0))
            return list(found) == ["pending", "pending"]

    sendgrid.fail(Failure(503, times=-1))
    await run_worker_until(settings_with_hooks, retrying)
    assert samples(await scrape(api), "forewarn_deliveries_waiting") == {
        (("channel", "email"), ("why", "retrying")): 2
    }


@pytest.fixture
def guarded(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url, metrics={"token": "scrape-secret-1"})


async def test_a_token_guards_metrics_when_set(
    aiohttp_client: AiohttpClient, guarded: Settings
) -> None:
    client = await aiohttp_client(create_app(guarded))
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert "forewarn_" not in await wrong.text()
    text = await scrape(client, {"Authorization": "Bearer scrape-secret-1"})
    assert "forewarn_http_requests_total" in text


# A process of its own: its figures in the shared directory, as a worker's are.
COUNTING = """
import sys
from notifier import metrics
metrics.share(sys.argv[1])
from notifier.delivery import metrics as delivery
delivery.count([("email", "sent")] * int(sys.argv[2]) + [("sms", "pending")])
delivery.PROVIDER_SECONDS.labels(provider="twilio").observe(0.2)
"""


async def test_two_processes_figures_add_up_on_the_web_processes_metrics(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "metrics"
    for sent in (1000, 234):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", COUNTING, str(shared), str(sent)],
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
    assert len(list(shared.glob("counter_*.db"))) == 2
    settings = make_settings(database_url, redis_url, metrics={"dir": str(shared)})
    client = await aiohttp_client(create_app(settings))
    text = await scrape(client)
    assert outcomes(text) == {outcome("email", "sent"): 1234, outcome("sms", "retried"): 2}
    histogram = samples(text, "forewarn_provider_request_seconds_count")
    assert histogram == {(("provider", "twilio"),): 2}
