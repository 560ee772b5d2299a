"""Rating prompts made by inserting rows, as the prompts' sender would leave them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.audience_rule import AudienceRule
from notifier.db import new_id, utcnow
from notifier.tables import (
    Customer,
    Delivery,
    FollowUp,
    InboxMessage,
    Notification,
    Rating,
    RatingPrompt,
)

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Made:
    """A prompt and its customer (and, for an in-app one, the inbox message carrying it)."""

    prompt_id: str
    customer_id: str
    message_id: int | None = None


async def make_prompt(
    sessions: Sessions,
    *,
    channel: str = "email",
    scale: str = "csat",
    locale: str = "en",
    phone: str | None = None,
    inapp_user_id: str | None = None,
    sent_ago: timedelta = timedelta(hours=1),
    expires_in: timedelta = timedelta(days=28),
    status: str = "sent",
    subject_id: str = "inc1",
    now: datetime | None = None,
) -> Made:
    """A sent prompt about incident ``subject_id`` to a new customer (or the one with
    ``phone`` / ``inapp_user_id``, if there is one). In-app: also a delivered inbox
    message whose delivery's notification is the prompt's."""
    now = now or utcnow()
    sent_at = now - sent_ago
    async with sessions() as session, session.begin():
        customer = None
        if phone:
            customer = await session.scalar(select(Customer).where(Customer.phone == phone))
        if inapp_user_id:
            customer = await session.scalar(
                select(Customer).where(Customer.inapp_user_id == inapp_user_id)
            )
        if customer is None:
            customer = Customer(
                external_id=f"ext-{new_id()}",
                phone=phone,
                inapp_user_id=inapp_user_id,
                locale=locale,
            )
            session.add(customer)
            await session.flush()
        notification = Notification(
            kind="incident_update",
            event="incident_updated",
            subject_id=subject_id,
            update_id=f"rate-{subject_id}",
            audience=AudienceRule(),
            status="done",
        )
        session.add(notification)
        await session.flush()
        prompt = RatingPrompt(
            customer_id=customer.id,
            subject_type="incident",
            subject_id=subject_id,
            scale=scale,
            channel=channel,
            status=status,
            due_at=sent_at,
            notification_id=notification.id,
            sent_at=sent_at if status == "sent" else None,
            expires_at=sent_at + expires_in if status == "sent" else None,
        )
        session.add(prompt)
        message_id = None
        if channel == "inapp":
            delivery = Delivery(
                notification_id=notification.id,
                customer_id=customer.id,
                channel="inapp",
                status="sent",
                sent_at=sent_at,
            )
            session.add(delivery)
            await session.flush()
            message = InboxMessage(
                delivery_id=delivery.id,
                user_id=inapp_user_id or "",
                title="How did we do?",
                body="Tell us how well we kept you informed.",
                created_at=sent_at,
            )
            session.add(message)
            await session.flush()
            message_id = message.id
        await session.flush()
        return Made(prompt.id, customer.id, message_id)


async def rating_of(sessions: Sessions, prompt_id: str) -> Rating | None:
    async with sessions() as session:
        return await session.scalar(select(Rating).where(Rating.prompt_id == prompt_id))


async def prompt_row(sessions: Sessions, prompt_id: str) -> RatingPrompt:
    async with sessions() as session:
        prompt = await session.get(RatingPrompt, prompt_id)
    assert prompt is not None
    return prompt


async def follow_ups(sessions: Sessions) -> list[FollowUp]:
    async with sessions() as session:
        return list((await session.scalars(select(FollowUp))).all())
