"""Helpers for tests of one customer's data (timeline, export, erasure): two customers who
heard of an incident, one of them also of a delivery problem, with everything a
customer leaves behind along the way (an in-app message read, a bounce that quotes
the address, a STOP, a sign-up in flight, a dev outbox copy, a remembered answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import signing
from notifier.db import Base, utcnow
from notifier.delivery import provider_events
from notifier.statuses import ChannelName, SuppressionReason
from notifier.tables import Customer, Delivery
from tests.conftest import Client
from tests.notifier.delivery.test_sending import run_worker
from tests.status_page.signups import sign_up

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]

ALICE = {
    "given_name": "Alice",
    "family_name": "Example",
    "email": "alice@example.com",
    "phone": "+81 90-1234-5678",
    "inapp_user_id": "alice-app-7",
    "locale": "ja",
    "time_zone": "Asia/Tokyo",
    "consent": {"channels": ["email", "sms"], "legal_basis": "contract"},
    "follows": {"page": True},
}
ALICE_PHONE = "+819012345678"
BOB = {
    "given_name": "Bob",
    "family_name": "Other",
    "email": "bob@example.com",
    "consent": {"channels": ["email"], "legal_basis": "contract"},
    "follows": {"page": True},
}
# Every trace of Alice that erasure must take out of every table.
ALICE_TRACES = (
    "alice@example.com",
    ALICE_PHONE,
    "Alice",
    "Example",
    "alice-app-7",
    "crm-alice",
)


@dataclass(frozen=True)
class Story:
    incident_id: str
    problem_id: str


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def put(client: Client, headers: Headers, external_id: str, body: dict[str, Any]) -> Any:
    response = await client.put(f"/api/v1/customers/{external_id}", json=body, headers=headers)
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def tell_alice_and_bob(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> Story:
    """Alice and Bob follow the page; an incident reaches both, then a delivery problem
    reaches Alice only; she reads the in-app message, signs up again on the page, then
    her email bounces (the reason quotes the address) and her number replies STOP."""
    await put(client, admin, "crm-alice", ALICE)
    await put(client, admin, "crm-bob", BOB)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Customer)
            .where(Customer.external_id == "crm-alice")
            .values(quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0))
        )
    incident = await ok(
        await client.post(
            "/api/v1/incidents",
            json={"title": "Checkout errors", "body": "Some payments fail."},
            headers=admin,
        ),
        201,
    )
    await run_worker(settings)
    problem = await ok(
        await client.post(
            "/api/v1/delivery-problems",
            json={
                "reference": "ORD-77",
                "kind": "delayed",
                "title": "Parcel ORD-77 is late",
                "body": "Your parcel is running late.",
                "customers": ["crm-alice"],
            },
            headers={**admin, "Idempotency-Key": "problem-ord-77"},
        ),
        201,
    )
    await run_worker(settings)
    user = "alice-app-7"
    proof = signing.inapp_hash(settings.secret_key.get_secret_value(), user)
    inbox_headers = {"X-Forewarn-User": user, "X-Forewarn-User-Hash": proof}
    inbox = await ok(await client.get("/api/v1/inbox", headers=inbox_headers))
    newest = inbox["data"][0]["id"]
    await ok(await client.post(f"/api/v1/inbox/{newest}/read", headers=inbox_headers))
    await sign_up(client, email="alice@example.com")
    await run_worker(settings)
    async with sessions() as session, session.begin():
        email = await session.scalar(
            select(Delivery.id)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Customer.external_id == "crm-alice", Delivery.channel == "email")
            .order_by(Delivery.id)
            .limit(1)
        )
        bounce = {
            "event": "bounce",
            "email": "alice@example.com",
            "sg_event_id": "bounce-1",
            "delivery_id": str(email),
            "reason": "550 5.1.1 <alice@example.com>: Recipient address rejected",
            "type": "bounce",
        }
        await provider_events.sendgrid_events(session, [bounce], now=utcnow())
        await provider_events.suppress(
            session, ChannelName.sms, ALICE_PHONE, SuppressionReason.stop, now=utcnow()
        )
    return Story(incident_id=incident["id"], problem_id=problem["id"])


async def traces(sessions: Sessions, needles: tuple[str, ...]) -> list[str]:
    """``table.column`` of every value, in every table, that contains one of ``needles``
    (every column read as text, JSON included)."""
    found = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is not None and any(n in str(value) for n in needles):
                        found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


async def table_count(sessions: Sessions, table: str) -> int:
    async with sessions() as session:
        count: int = await session.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        return count
