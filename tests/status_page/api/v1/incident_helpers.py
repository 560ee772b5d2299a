"""Helpers for tests of the incidents API: components and incidents made through it,
and what the database then holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import Base
from notifier.tables import (
    AuditEntry,
    ComponentStatusChange,
    Incident,
    IncidentComponent,
    IncidentUpdate,
)
from tests.conftest import Client

Sessions = async_sessionmaker[AsyncSession]


async def new_component(client: Client, admin: dict[str, str], name: str, position: int = 0) -> str:
    response = await client.post(
        "/api/v1/components", json={"name": name, "position": position}, headers=admin
    )
    assert response.status == 201
    ident: str = (await response.json())["id"]
    return ident


async def open_incident(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Checkout is failing", "body": "We are looking into it.", **fields}
    response = await client.post("/api/v1/incidents", json=body, headers=headers)
    assert response.status == 201, await response.text()
    incident: dict[str, Any] = await response.json()
    return incident


async def component_statuses(client: Client, admin: dict[str, str]) -> dict[str, str]:
    listed = await (await client.get("/api/v1/components", headers=admin)).json()
    return {c["id"]: c["status"] for c in listed["data"]}


async def history(sessions: Sessions, component_id: str) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(ComponentStatusChange.status, ComponentStatusChange.incident_id)
            .where(ComponentStatusChange.component_id == component_id)
            .order_by(ComponentStatusChange.id)
        )
        return [(status, incident_id) for status, incident_id in rows]


async def count(sessions: Sessions, table: type[Base]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def counts(sessions: Sessions) -> dict[str, int]:
    tables: list[type[Base]] = [
        Incident,
        IncidentUpdate,
        IncidentComponent,
        ComponentStatusChange,
        AuditEntry,
    ]
    return {table.__tablename__: await count(sessions, table) for table in tables}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def soon(minutes: int = 30) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def problem_fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]
