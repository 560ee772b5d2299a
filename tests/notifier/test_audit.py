"""The audit log: each entry says which key changed what and when, keeps the key's name
after the key is revoked, is listed newest first by action and target, and never holds a
customer's personal data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import api_keys, audit
from notifier.db import utcnow
from notifier.schemas.access import AuditQuery
from tests.conftest import Client

Sessions = async_sessionmaker[AsyncSession]


async def test_an_entry_records_the_key_the_change_and_the_time(sessions: Sessions) -> None:
    at = utcnow()
    async with sessions() as session, session.begin():
        key, _secret = await api_keys.create_key(session, "deploy bot", ["admin"], now=at)
        audit.record(
            session,
            key,
            action="component.update",
            target_type="component",
            target_id="cmp1",
            changes={"status": "major_outage"},
            now=at,
        )
    async with sessions() as session, session.begin():
        await api_keys.revoke_key(session, key.id, now=at)
    async with sessions() as session:
        [entry], cursor = await audit.list_entries(session, AuditQuery())
    assert cursor is None
    assert (entry.at, entry.api_key_id, entry.api_key_name) == (at, key.id, "deploy bot")
    assert (entry.action, entry.target_type, entry.target_id, entry.changes) == (
        "component.update",
        "component",
        "cmp1",
        {"status": "major_outage"},
    )


async def test_entries_are_listed_newest_first_and_filtered(sessions: Sessions) -> None:
    start = utcnow()
    async with sessions() as session, session.begin():
        key, _secret = await api_keys.create_key(session, "ops", ["admin"], now=start)
        for n, (action, target) in enumerate(
            [
                ("component.create", "cmp1"),
                ("incident.create", "inc1"),
                ("component.update", "cmp1"),
            ]
        ):
            audit.record(
                session,
                key,
                action=action,
                target_type=action.partition(".")[0],
                target_id=target,
                changes={},
                now=start + timedelta(seconds=n),
            )
    async with sessions() as session:
        first, cursor = await audit.list_entries(session, AuditQuery(limit=2))
        rest, end = await audit.list_entries(session, AuditQuery(limit=2, cursor=cursor))
        assert [e.action for e in [*first, *rest]] == [
            "component.update",
            "incident.create",
            "component.create",
        ]
        assert end is None
        by_target, _ = await audit.list_entries(session, AuditQuery(target_id="cmp1"))
        assert [e.action for e in by_target] == ["component.update", "component.create"]
        by_type, _ = await audit.list_entries(session, AuditQuery(target_type="incident"))
        by_action, _ = await audit.list_entries(session, AuditQuery(action="component.create"))
        assert [e.target_id for e in [*by_type, *by_action]] == ["inc1", "cmp1"]


async def test_a_customer_change_keeps_the_field_names_not_the_values(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    body = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+819012345678",
    }
    response = await client.put("/api/v1/customers/cus_1", json=body, headers=admin)
    assert response.status == 201, await response.text()
    async with sessions() as session:
        [entry], _ = await audit.list_entries(session, AuditQuery(target_type="customer"))
    assert entry.changes == {"fields": ["email", "family_name", "given_name", "phone"]}
    assert entry.api_key_name == "ops admin"

    problem = {"reference": "ORDER-1", "kind": "lost", "body": "Lost.", "customers": ["cus_1"]}
    response = await client.post("/api/v1/delivery-problems", json=problem, headers=admin)
    assert response.status == 201, await response.text()
    async with sessions() as session:
        [entry], _ = await audit.list_entries(session, AuditQuery(action="delivery_problem.create"))
    assert entry.changes["customers"] == "(1 not kept)"
