"""Rating prompts end to end (``notifier.care.prompts``): the ops API, the worker's
rating tick at times a controlled clock chooses (time-machine), a real worker, and
what the SendGrid and Twilio fakes and the in-app inbox received."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from notifier.delivery.sms_segments import segments
from notifier.tables import (
    Consent,
    Customer,
    Delivery,
    InboxMessage,
    Notification,
    RatingPrompt,
    Suppression,
)
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.notifier.delivery.test_care import run_due
from tests.workers.ticks import job_context
from workers import jobs

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]
DAY = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # noon in Tokyo
RESOLVED = DAY + timedelta(minutes=20)
DELAY = timedelta(minutes=30)


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def customer(api: Client, admin: Headers, ident: str, **body: Any) -> None:
    response = await api.put(f"/api/v1/customers/{ident}", json=body, headers=admin)
    assert response.status == 201, await response.text()


async def post(api: Client, admin: Headers, path: str, **body: Any) -> str:
    response = await api.post(path, json=body, headers=admin)
    assert response.status in (200, 201), await response.text()
    found: str = (await response.json())["id"]
    return found


async def three_and_two_bystanders(api: Client, admin: Headers) -> None:
    """Three customers told about the incident (email, SMS, in-app), and two who are
    not: one follows nothing, one has no consent for the channel he has."""
    page = {"page": True}
    await customer(
        api,
        admin,
        "ann",
        email="ann@example.com",
        given_name="Ann",
        consent={"channels": ["email"], "legal_basis": "contract"},
        follows=page,
    )
    await customer(
        api,
        admin,
        "taro",
        phone="+81 90 1234 5678",
        locale="ja",
        time_zone="Asia/Tokyo",
        family_name="山田",
        consent={"channels": ["sms"], "legal_basis": "contract"},
        follows=page,
    )
    await customer(
        api,
        admin,
        "app-user",
        inapp_user_id="user-7",
        follows=page,
    )
    await customer(
        api,
        admin,
        "bystander-1",
        email="by1@example.com",
        consent={"channels": ["email"], "legal_basis": "contract"},
    )
    await customer(api, admin, "bystander-2", email="by2@example.com", follows=page)


async def tick(settings: Settings, sessions: Sessions) -> int:
    async with job_context(settings, sessions) as ctx:
        return await jobs.rating_prompts(ctx)


async def resolved_incident(api: Client, admin: Headers, settings: Settings) -> str:
    with time_machine.travel(DAY):
        await three_and_two_bystanders(api, admin)
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Looking.")
        await run_due(settings)
    with time_machine.travel(RESOLVED):
        await post(api, admin, f"/api/v1/incidents/{incident}/resolve", body="Fixed.")
        await run_due(settings)
    return incident


def prompts_in(sendgrid: FakeSendGrid) -> list[dict[str, Any]]:
    """The personalizations of the prompt emails SendGrid accepted."""
    return [
        p
        for r in sendgrid.requests
        if r.message_id and "How did we keep you informed?" in r.body["subject"]
        for p in r.body["personalizations"]
    ]


def prompt_texts(twilio: FakeTwilio) -> list[str]:
    return [r.form["Body"] for r in twilio.requests if r.sid and "1〜5" in r.form["Body"]]


async def inbox(sessions: Sessions) -> list[InboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(InboxMessage).order_by(InboxMessage.id))).all())


async def prompts(sessions: Sessions) -> list[RatingPrompt]:
    async with sessions() as session:
        return list((await session.scalars(select(RatingPrompt))).all())


async def test_the_three_told_are_asked_once_after_the_delay_each_on_their_channel(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sessions: Sessions,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
) -> None:
    settings = provider_settings
    await resolved_incident(api, admin, settings)
    told = len(await inbox(sessions))

    with time_machine.travel(RESOLVED + DELAY - timedelta(minutes=1)):
        assert await tick(settings, sessions) == 0
        await run_due(settings)
    assert await prompts(sessions) == []

    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30), tick=False):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
        now = datetime.now(UTC)
    with time_machine.travel(RESOLVED + DELAY + timedelta(minutes=5)):
        assert await tick(settings, sessions) == 0
        await run_due(settings)

    made = await prompts(sessions)
    async with sessions() as session:
        names = dict((await session.execute(select(Customer.id, Customer.external_id))).all())
    assert sorted((names[p.customer_id], p.channel) for p in made) == [
        ("ann", "email"),
        ("app-user", "inapp"),
        ("taro", "sms"),
    ]
    assert {p.status for p in made} == {"sent"}
    assert len({p.notification_id for p in made}) == 1
    assert all(p.scale == "csat" and p.sent_at == now for p in made)
    assert all(p.expires_at == now + timedelta(days=28) for p in made)

    # Email: one signed link per score, each opening /rate/<token>?score=n for Ann's prompt.
    [mail] = prompts_in(sendgrid)
    assert mail["to"][0]["email"] == "ann@example.com"
    [ann] = [p for p in made if p.channel == "email"]
    secret = settings.secret_key.get_secret_value()
    for score in range(1, 6):
        url = urlsplit(mail["substitutions"][f"%%rating_url_{score}%%"])
        assert url.netloc == urlsplit(str(settings.public_url)).netloc
        token = url.path.removeprefix("/rate/")
        assert url.path == f"/rate/{token}"
        assert parse_qs(url.query) == {"score": [str(score)]}
        with time_machine.travel(RESOLVED + DELAY + timedelta(hours=1)):
            assert links.rating_prompt_of(secret, token, max_age_days=28) == ann.id
    assert "%%rating_url_0%%" not in mail["substitutions"]
    assert "%%rating_url_6%%" not in mail["substitutions"]

    # SMS: "reply 1-5", in Japanese for Taro, within the segment limit.
    [text] = prompt_texts(twilio)
    assert text.startswith("山田様")
    assert "1〜5の数字でご返信ください" in text
    assert segments(text) <= settings.delivery.sms_max_segments

    # In-app: one more item in the inbox, the question its body.
    items = await inbox(sessions)
    assert len(items) == told + 1
    assert items[-1].user_id == "user-7"
    assert "How satisfied were you with how we kept you informed?" in items[-1].body
    assert "How did we keep you informed?" in items[-1].title
    # Nobody else heard anything.
    assert "by1@example.com" not in sendgrid.delivered
    assert "by2@example.com" not in sendgrid.delivered


async def test_quiet_hours_hold_the_prompt_until_they_end(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sessions: Sessions,
    twilio: FakeTwilio,
) -> None:
    settings = provider_settings
    await resolved_incident(api, admin, settings)
    async with sessions() as session, session.begin():  # 12:00-23:00 Tokyo: quiet
        await session.execute(
            update(Customer)
            .where(Customer.external_id == "taro")
            .values(
                quiet_hours_start=datetime(2000, 1, 1, 12).time(),
                quiet_hours_end=datetime(2000, 1, 1, 23).time(),
            )
        )
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
    assert prompt_texts(twilio) == []
    with time_machine.travel(DAY.replace(hour=14, minute=0, second=5)):  # 23:00 Tokyo
        await run_due(settings)
    assert len(prompt_texts(twilio)) == 1


async def test_a_subject_reopened_within_the_delay_is_asked_about_after_its_next_resolution(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sessions: Sessions,
    sendgrid: FakeSendGrid,
) -> None:
    settings = provider_settings
    incident = await resolved_incident(api, admin, settings)
    reopened = RESOLVED + timedelta(minutes=10)
    with time_machine.travel(reopened):
        path = f"/api/v1/incidents/{incident}/reopen"
        await post(api, admin, path, status="identified", body="It is back.")
        await run_due(settings)
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 0
    again = reopened + timedelta(minutes=20)
    with time_machine.travel(again):
        await post(api, admin, f"/api/v1/incidents/{incident}/resolve", body="Fixed again.")
        await run_due(settings)
    with time_machine.travel(again + DELAY - timedelta(seconds=30)):
        assert await tick(settings, sessions) == 0
    with time_machine.travel(again + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
    assert len(prompts_in(sendgrid)) == 1
    assert len(await prompts(sessions)) == 3


async def test_a_customer_who_unsubscribed_is_not_asked(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sessions: Sessions,
    sendgrid: FakeSendGrid,
) -> None:
    settings = provider_settings
    await resolved_incident(api, admin, settings)
    async with sessions() as session:
        ann = await session.scalar(select(Customer.id).where(Customer.external_id == "ann"))
    assert ann is not None
    secret = settings.secret_key.get_secret_value()
    with time_machine.travel(RESOLVED + timedelta(minutes=5)):
        token = links.sign(secret, "unsubscribe", f"{ann}:email")
        response = await api.post(f"/unsubscribe/{token}")
        assert response.status < 400, await response.text()
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
    assert prompts_in(sendgrid) == []
    made = {p.customer_id: p for p in await prompts(sessions)}
    assert made[ann].status == "cancelled"
    assert made[ann].notification_id is None
    assert sorted(p.status for p in made.values()) == ["cancelled", "sent", "sent"]


async def test_a_prompt_is_due_at_the_very_end_of_the_delay(
    api: Client, admin: Headers, provider_settings: Settings, sessions: Sessions
) -> None:
    await resolved_incident(api, admin, provider_settings)
    with time_machine.travel(RESOLVED + DELAY, tick=False):
        assert await tick(provider_settings, sessions) == 1


async def test_a_customer_reached_after_the_prompts_is_asked_and_nobody_twice(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sessions: Sessions,
    sendgrid: FakeSendGrid,
) -> None:
    settings = provider_settings
    incident = await resolved_incident(api, admin, settings)
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
        consent = {"channels": ["email"], "legal_basis": "contract"}
        await customer(api, admin, "late", email="late@example.com", consent=consent)
    # A message about the incident reaches one more customer (a retry that came late).
    async with sessions() as session, session.begin():
        late = await session.scalar(select(Customer.id).where(Customer.external_id == "late"))
        told = await session.scalar(
            select(Notification.id)
            .where(Notification.subject_id == incident, Notification.kind == "incident_update")
            .limit(1)
        )
        assert late is not None
        assert told is not None
        at = RESOLVED + DELAY + timedelta(minutes=1)
        session.add(
            Delivery(
                notification_id=told,
                customer_id=late,
                channel="email",
                status="sent",
                attempts=1,
                created_at=at,
                sent_at=at,
            )
        )
    with time_machine.travel(RESOLVED + DELAY + timedelta(minutes=2)):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
    with time_machine.travel(RESOLVED + DELAY + timedelta(minutes=3)):
        assert await tick(settings, sessions) == 0
    made = await prompts(sessions)
    assert len(made) == 4
    assert len({p.customer_id for p in made}) == 4
    assert [p.channel for p in made if p.customer_id == late] == ["email"]


async def test_an_erased_customer_is_not_asked(
    api: Client, admin: Headers, provider_settings: Settings, sessions: Sessions
) -> None:
    settings = provider_settings
    await resolved_incident(api, admin, settings)
    async with sessions() as session:
        ann = await session.scalar(select(Customer.id).where(Customer.external_id == "ann"))
    with time_machine.travel(RESOLVED + timedelta(minutes=5)):
        response = await api.delete("/api/v1/customers/ann", headers=admin)
        assert response.status < 400, await response.text()
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 1
    made = await prompts(sessions)
    assert ann not in {p.customer_id for p in made}
    assert sorted(p.channel for p in made) == ["inapp", "sms"]


async def test_a_customer_whose_address_bounced_is_not_asked_there(
    api: Client, admin: Headers, provider_settings: Settings, sessions: Sessions
) -> None:
    settings = provider_settings
    await resolved_incident(api, admin, settings)
    async with sessions() as session, session.begin():
        session.add(Suppression(channel="email", address="ann@example.com", reason="bounce"))
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(settings, sessions) == 1
    async with sessions() as session:
        ann = await session.scalar(select(Customer.id).where(Customer.external_id == "ann"))
    [prompt] = [p for p in await prompts(sessions) if p.customer_id == ann]
    assert (prompt.status, prompt.channel) == ("cancelled", "")


def with_ratings(settings: Settings, **changes: Any) -> Settings:
    ratings = settings.ratings.model_copy(update=changes)
    return settings.model_copy(update={"ratings": ratings})


async def names_of(sessions: Sessions) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(select(Customer.id, Customer.external_id))
        return {row.id: row.external_id or "" for row in rows}


async def test_maintenance_is_rated_only_when_configured_and_only_once_completed(
    api: Client, admin: Headers, provider_settings: Settings, sessions: Sessions
) -> None:
    window = {
        "scheduled_for": (DAY + timedelta(hours=6)).isoformat(),
        "scheduled_until": (DAY + timedelta(hours=8)).isoformat(),
        "auto_transition": False,
    }
    with time_machine.travel(DAY):
        await three_and_two_bystanders(api, admin)
        done = await post(api, admin, "/api/v1/maintenance", title="DB", body="Work.", **window)
        called_off = await post(
            api, admin, "/api/v1/maintenance", title="Net", body="Work.", **window
        )
        await run_due(provider_settings)
    with time_machine.travel(RESOLVED):
        response = await api.patch(
            f"/api/v1/maintenance/{done}", json={"status": "completed"}, headers=admin
        )
        assert response.status == 200, await response.text()
        await post(api, admin, f"/api/v1/maintenance/{called_off}/cancel", body="Not needed.")
        await run_due(provider_settings)
    # Both were told to the same customers (maintenance is not texted by default).
    async with sessions() as session:
        told = await session.execute(
            select(Notification.subject_id, Delivery.customer_id)
            .join(Delivery, Delivery.notification_id == Notification.id)
            .where(Delivery.status.in_(("sent", "delivered")))
        )
        reached = {(s, c) for s, c in told}
    told_done = {c for s, c in reached if s == done}
    assert len(told_done) == 2
    assert {c for s, c in reached if s == called_off} == told_done

    # Off (the default): a maintenance is not rated.
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(provider_settings, sessions) == 0
    assert await prompts(sessions) == []

    # On: those told about the completed one are asked; about the cancelled one, not.
    settings = with_ratings(provider_settings, after_maintenance=True)
    with time_machine.travel(RESOLVED + DELAY + timedelta(minutes=1)):
        assert await tick(settings, sessions) == 1
    with time_machine.travel(RESOLVED + DELAY + timedelta(minutes=2)):
        assert await tick(settings, sessions) == 0
    made = await prompts(sessions)
    names = await names_of(sessions)
    assert {(p.subject_type, p.subject_id) for p in made} == {("maintenance", done)}
    assert sorted(names[p.customer_id] for p in made) == ["ann", "app-user"]


async def test_the_channel_is_the_first_of_the_default_order_with_confirmed_consent(
    api: Client, admin: Headers, provider_settings: Settings, sessions: Sessions
) -> None:
    """Without a channel_order: email, then in-app, then SMS. Consent still waiting
    for its double opt-in confirmation is no consent."""
    page = {"page": True}
    both = {"channels": ["email", "sms"], "legal_basis": "contract"}
    sms = {"channels": ["sms"], "legal_basis": "contract"}
    phone = "+81 90 1234 5678"
    with time_machine.travel(DAY):
        email_inapp_sms = {"email": "all@example.com", "inapp_user_id": "u-all", "phone": phone}
        await customer(api, admin, "all", consent=both, follows=page, **email_inapp_sms)
        inapp_sms = {"inapp_user_id": "u-two", "phone": "+81 90 1234 5679"}
        await customer(api, admin, "two", consent=sms, follows=page, **inapp_sms)
        # SMS first by choice, but its consent awaits confirmation: email it is.
        pending = {"email": "p@example.com", "phone": "+81 90 1234 5670"}
        await customer(
            api,
            admin,
            "pending",
            consent=both,
            follows=page,
            channel_order=["sms", "email"],
            **pending,
        )
        async with sessions() as session, session.begin():
            pending_id = await session.scalar(
                select(Customer.id).where(Customer.external_id == "pending")
            )
            await session.execute(
                update(Consent)
                .where(Consent.customer_id == pending_id, Consent.channel == "sms")
                .values(confirmed_at=None)
            )
        incident = await post(api, admin, "/api/v1/incidents", title="Slow", body="Looking.")
        await run_due(provider_settings)
    with time_machine.travel(RESOLVED):
        await post(api, admin, f"/api/v1/incidents/{incident}/resolve", body="Fixed.")
        await run_due(provider_settings)
    with time_machine.travel(RESOLVED + DELAY + timedelta(seconds=30)):
        assert await tick(provider_settings, sessions) == 1
    names = await names_of(sessions)
    assert sorted((names[p.customer_id], p.channel) for p in await prompts(sessions)) == [
        ("all", "email"),
        ("pending", "email"),
        ("two", "inapp"),
    ]


async def test_a_subject_resolved_more_than_a_day_before_the_tick_is_not_asked_about(
    api: Client, admin: Headers, provider_settings: Settings, sessions: Sessions
) -> None:
    """A worker that was down for days does not send old questions when it comes back."""
    await resolved_incident(api, admin, provider_settings)
    with time_machine.travel(RESOLVED + DELAY + timedelta(days=1, seconds=30)):
        assert await tick(provider_settings, sessions) == 0
    assert await prompts(sessions) == []
    with time_machine.travel(RESOLVED + DELAY + timedelta(days=1) - timedelta(seconds=30)):
        assert await tick(provider_settings, sessions) == 1
