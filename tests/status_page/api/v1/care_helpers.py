"""Helpers for the care tests: a customer and an incident made through the ops API, and
an answer to a rating prompt recorded as every answer path records it
(``notifier.care.ratings.record`` on an inserted ``RatingPrompt``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.care import ratings
from notifier.scales import PromptStatus, Scale, Subject
from notifier.tables import Customer, RatingPrompt
from tests.conftest import Client

Sessions = async_sessionmaker[AsyncSession]


async def add_customer(
    client: Client, admin: dict[str, str], external_id: str, **fields: Any
) -> None:
    body = {"given_name": "Hanako", "family_name": "Sato", "email": f"{external_id}@example.com"}
    response = await client.put(
        f"/api/v1/customers/{external_id}", json={**body, **fields}, headers=admin
    )
    assert response.status == 201, await response.text()


async def open_incident(
    client: Client, admin: dict[str, str], title: str = "Checkout is failing"
) -> str:
    body = {"title": title, "body": "Looking into it.", "notify": False}
    response = await client.post("/api/v1/incidents", json=body, headers=admin)
    assert response.status == 201, await response.text()
    ident: str = (await response.json())["id"]
    return ident


async def answer(
    sessions: Sessions,
    external_id: str,
    subject_id: str,
    score: int,
    *,
    scale: Scale = Scale.csat,
    channel: str = "email",
    comment: str | None = None,
    now: datetime | None = None,
    subject: Subject = Subject.incident,
) -> ratings.Recorded:
    """The customer answers a prompt about the subject (the prompt is made on first use)."""
    now = now or datetime.now(UTC)
    async with sessions() as session, session.begin():
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.external_id == external_id)
        )
        assert customer_id is not None
        prompt_id = await session.scalar(
            select(RatingPrompt.id).where(
                RatingPrompt.customer_id == customer_id, RatingPrompt.subject_id == subject_id
            )
        )
        if prompt_id is None:
            prompt = RatingPrompt(
                customer_id=customer_id,
                subject_type=subject,
                subject_id=subject_id,
                scale=scale,
                channel=channel,
                status=PromptStatus.sent,
                due_at=now,
                sent_at=now,
                expires_at=now + timedelta(days=28),
            )
            session.add(prompt)
            await session.flush()
            prompt_id = prompt.id
        return await ratings.record(
            session, prompt_id, score, channel=channel, now=now, comment=comment
        )
