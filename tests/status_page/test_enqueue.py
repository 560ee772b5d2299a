"""The web process's handle on the job queue (``status_page/enqueue.py``): a Redis that
refuses a job never fails the request that committed its row; the row is kept for the
worker's sweep, and the log names the row, never the person."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.tables import Notification, Signup
from status_page import enqueue, keys
from tests.conftest import Client, make_settings
from tests.notifier.delivery.test_sending import post_incident
from tests.status_page.signups import sign_up

Sessions = async_sessionmaker[AsyncSession]


async def refuse(*args: Any, **kwargs: Any) -> None:
    raise RedisConnectionError("Connection refused")


@pytest.fixture
def redis_refuses(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every job the web process enqueues is refused, as by a Redis that went away."""
    monkeypatch.setattr(client.app[keys.QUEUE], "enqueue_job", refuse)


@pytest.mark.usefixtures("redis_refuses")
async def test_an_incident_posted_while_redis_refuses_is_created_and_its_notification_kept(
    client: Client, admin: dict[str, str], sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="status_page.enqueue")

    await post_incident(client, admin)  # a 201

    async with sessions() as session:
        [notification_id] = (await session.scalars(select(Notification.id))).all()
    assert f"could not enqueue notification {notification_id}" in caplog.text


@pytest.mark.usefixtures("redis_refuses")
async def test_a_sign_up_while_redis_refuses_is_answered_and_kept_for_the_sweep(
    client: Client, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="status_page.enqueue")

    response = await sign_up(client, email="sam@example.com")

    assert response.status == 200
    assert "Check your inbox" in await response.text()
    async with sessions() as session:
        [signup_id] = (await session.scalars(select(Signup.id))).all()
    assert f"could not enqueue sign-up {signup_id}" in caplog.text
    assert "sam@example.com" not in caplog.text


async def test_the_web_app_does_not_start_without_a_redis_url(database_url: str) -> None:
    app = web.Application()
    app[keys.SETTINGS] = make_settings(database_url, "")

    with pytest.raises(RuntimeError, match="needs a Redis URL"):
        await anext(enqueue.pool(app))
