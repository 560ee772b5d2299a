"""The operator's commands (``forewarn/admin.py``): API keys created, listed and revoked
without a secret ever printed twice, and parked deliveries handed back by channel."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.audience_rule import AudienceRule
from notifier.db import Base
from notifier.tables import ApiKey, Delivery, Notification
from tests.conftest import Client
from tests.forewarn.command import KEY, Forewarn, create_key
from tests.notifier.delivery.test_sending import add_audience


async def everything_stored(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every row of every table, as text."""
    async with sessions() as session:
        rows = [
            repr((await session.execute(select(table))).all())
            for table in Base.metadata.sorted_tables
        ]
    return "\n".join(rows)


async def test_api_key_create_prints_the_key_alone_on_the_last_line(
    forewarn: Forewarn,
    env: dict[str, str],
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    result = await forewarn.run(
        "api-key",
        "create",
        "--name",
        "deploy bot",
        "--scope",
        "read",
        "--scope",
        "incidents:write",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    secret = result.last_line
    assert KEY.fullmatch(secret)
    assert secret not in result.stdout.rsplit("\n", 2)[0]  # printed once
    assert secret not in result.stderr

    headers = {"Authorization": f"Bearer {secret}"}
    listed = await client.get("/api/v1/incidents", headers=headers)
    assert listed.status == 200
    # Only the scopes asked for: components:write was not one of them.
    refused = await client.post("/api/v1/components", json={"name": "Checkout"}, headers=headers)
    assert refused.status == 403

    async with sessions() as session:
        key = (await session.scalars(select(ApiKey))).one()
    assert key.name == "deploy bot"
    assert key.scopes == ["incidents:write", "read"]
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = await everything_stored(sessions)
    assert key.prefix in stored  # the short prefix is kept to tell keys apart ...
    assert secret[len(key.prefix) :] not in stored  # ... the rest of the secret is not


async def test_api_key_list_never_prints_secrets(
    forewarn: Forewarn, env: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await create_key(forewarn, env, "deploy bot", "read")
    second = await create_key(forewarn, env, "pager", "admin")

    result = await forewarn.run("api-key", "list", env=env)

    assert result.returncode == 0, result.stderr
    async with sessions() as session:
        keys = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, key in zip(lines, keys, strict=True):
        assert key.id in line
        assert f"{key.prefix}..." in line
        assert key.name in line
        assert "active" in line
    for secret in (first, second):
        assert secret not in result.stdout
        assert secret[10:] not in result.stdout
        assert secret not in result.stderr


async def test_api_key_revoke_makes_the_key_401(
    forewarn: Forewarn, env: dict[str, str], client: Client
) -> None:
    secret = await create_key(forewarn, env, "leaked", "read")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/incidents", headers=headers)).status == 200

    result = await forewarn.run("api-key", "revoke", secret[:10], env=env)

    assert result.returncode == 0, result.stderr
    assert "revoked API key" in result.stdout
    refused = await client.get("/api/v1/incidents", headers=headers)
    assert refused.status == 401
    assert refused.content_type == "application/problem+json"
    listed = await forewarn.run("api-key", "list", env=env)
    assert "revoked" in listed.stdout


async def test_api_key_revoke_of_an_unknown_key_is_one_line(
    forewarn: Forewarn, env: dict[str, str]
) -> None:
    result = await forewarn.run("api-key", "revoke", "fw_nothing", env=env)

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["forewarn: no API key with id 'fw_nothing'"]


async def test_an_invalid_scope_is_refused(
    forewarn: Forewarn, env: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    result = await forewarn.run(
        "api-key", "create", "--name", "x", "--scope", "read", "--scope", "everything", env=env
    )

    assert result.returncode == 2
    assert "invalid choice: 'everything'" in result.stderr
    assert not KEY.search(result.stdout)
    async with sessions() as session:
        assert (await session.scalars(select(ApiKey))).all() == []


async def test_deliveries_resume_hands_parked_texts_back_by_channel(
    forewarn: Forewarn,
    env: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customers = await add_audience(settings, 2, email=False, phone=True)
    async with sessions() as session, session.begin():
        notification = Notification(
            kind="incident_update",
            event="incident_updated",
            subject_id="i1",
            update_id="u1",
            audience=AudienceRule(),
        )
        session.add(notification)
        await session.flush()
        session.add_all(
            Delivery(notification_id=notification.id, customer_id=c, channel="sms", status=s)
            for c, s in zip(customers, ["parked", "parked"], strict=True)
        )

    parked = await forewarn.run("deliveries", "parked", env=env)
    other = await forewarn.run("deliveries", "resume", "--channel", "email", env=env)
    resumed = await forewarn.run("deliveries", "resume", "--channel", "sms", env=env)

    assert parked.stdout.splitlines() == ["sms: 2 parked"]
    assert other.stdout.splitlines() == ["no deliveries are parked"]
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0] == "sms: 2 resumed"
    async with sessions() as session:
        statuses = (await session.scalars(select(Delivery.status))).all()
    assert statuses == ["pending", "pending"]
