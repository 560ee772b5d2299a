"""A customer is told in their language when ops gave the text in it (issue 15): the
title, body and component names of incidents and maintenance in their locale's
translation, the record's own text where there is none. Through the ops API, a real
worker, the loopback SendGrid and Twilio fakes and the in-app inbox."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.tables import InboxMessage
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.notifier.delivery.test_sending import api, run_worker

__all__ = ["api"]  # the fixture, imported for these tests

Sessions = async_sessionmaker[AsyncSession]
CONSENT = {"channels": ["email", "sms"], "legal_basis": "contract"}  # in-app needs none


async def _customer(client: Client, admin: dict[str, str], external_id: str, **body: Any) -> None:
    body = {"consent": CONSENT, "follows": {"page": True}, **body}
    response = await client.put(f"/api/v1/customers/{external_id}", json=body, headers=admin)
    assert response.status == 201, await response.text()


async def _two_customers(client: Client, admin: dict[str, str]) -> None:
    await _customer(
        client,
        admin,
        "yamada",
        family_name="山田",
        email="yamada@example.com",
        phone="+81 90 1234 5678",
        inapp_user_id="user-ja",
        locale="ja",
        time_zone="Asia/Tokyo",
    )
    await _customer(
        client,
        admin,
        "ann",
        given_name="Ann",
        email="ann@example.com",
        phone="+1 650 253 0000",
        inapp_user_id="user-en",
        locale="en",
    )


def _email_to(sendgrid: FakeSendGrid, address: str) -> str:
    """Everything SendGrid was asked to send to ``address`` (subject, text, HTML), as JSON."""
    [request] = [r for r in sendgrid.requests if address in r.recipients]
    return json.dumps(request.body, ensure_ascii=False)


def _sms_to(twilio: FakeTwilio, number: str) -> str:
    [request] = [r for r in twilio.requests if r.to == number]
    return request.form["Body"]


async def _inbox(sessions: Sessions, user_id: str) -> tuple[str, str]:
    async with sessions() as session:
        [message] = (
            await session.scalars(select(InboxMessage).where(InboxMessage.user_id == user_id))
        ).all()
    return message.title, message.body


async def test_a_japanese_customer_gets_the_japanese_title_body_and_component_names(
    api: Client,
    admin: dict[str, str],
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await _two_customers(api, admin)
    component = await api.post(
        "/api/v1/components",
        json={"name": "Checkout API", "translations": {"ja": {"name": "決済API"}}},
        headers=admin,
    )
    created = await api.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout errors",
            "body": "Some payments fail. We are investigating.",
            "components": [{"component_id": (await component.json())["id"]}],
            "translations": {
                "ja": {"title": "決済エラー", "body": "一部のお支払いが失敗しております。"}
            },
        },
        headers=admin,
    )
    assert created.status == 201, await created.text()
    await run_worker(provider_settings)

    japanese = _email_to(sendgrid, "yamada@example.com")
    assert "決済エラー" in japanese
    assert "一部のお支払いが失敗しております。" in japanese
    assert "決済API" in japanese
    assert "Checkout errors" not in japanese
    assert "Some payments fail" not in japanese
    english = _email_to(sendgrid, "ann@example.com")
    assert "Checkout errors" in english
    assert "Some payments fail. We are investigating." in english
    assert "Checkout API" in english
    assert "決済" not in english

    sms = _sms_to(twilio, "+819012345678")
    assert "決済エラー" in sms
    assert "一部のお支払いが失敗しております。" in sms
    assert "Checkout" not in sms
    assert "Checkout errors" in _sms_to(twilio, "+16502530000")

    title, body = await _inbox(sessions, "user-ja")
    assert "決済エラー" in title
    assert "一部のお支払いが失敗しております。" in body
    title, body = await _inbox(sessions, "user-en")
    assert "Checkout errors" in title
    assert "Some payments fail" in body


async def test_without_a_translation_a_japanese_customer_gets_the_records_own_text(
    api: Client,
    admin: dict[str, str],
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await _two_customers(api, admin)
    created = await api.post(
        "/api/v1/incidents",
        # Only the title is translated: the body falls back to the base text.
        json={
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "translations": {"ja": {"title": "決済エラー"}},
        },
        headers=admin,
    )
    assert created.status == 201, await created.text()
    await run_worker(provider_settings)

    japanese = _email_to(sendgrid, "yamada@example.com")
    assert "決済エラー" in japanese
    assert "Some payments fail." in japanese
    assert "Some payments fail." in _sms_to(twilio, "+819012345678")
    title, body = await _inbox(sessions, "user-ja")
    assert "決済エラー" in title
    assert "Some payments fail." in body


async def test_a_maintenance_step_is_told_in_japanese_with_its_translated_update(
    api: Client,
    admin: dict[str, str],
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await _two_customers(api, admin)
    created = await api.post(
        "/api/v1/maintenance",
        json={
            "title": "Database upgrade",
            "body": "Checkout will be read-only.",
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "2030-01-05T03:00:00Z",
            "notify": False,
            "translations": {"ja": {"title": "データベースの更新"}},
        },
        headers=admin,
    )
    assert created.status == 201, await created.text()
    maintenance_id = (await created.json())["id"]
    patched = await api.patch(
        f"/api/v1/maintenance/{maintenance_id}",
        json={
            "body": "The window moves by a day.",
            "translations": {"ja": {"body": "作業日を1日延期いたします。"}},
        },
        headers=admin,
    )
    assert patched.status == 200, await patched.text()
    await run_worker(provider_settings)

    japanese = _email_to(sendgrid, "yamada@example.com")
    assert "データベースの更新" in japanese
    assert "作業日を1日延期いたします。" in japanese
    title, body = await _inbox(sessions, "user-ja")
    assert "データベースの更新" in title
    assert "作業日を1日延期いたします。" in body
    english = _email_to(sendgrid, "ann@example.com")
    assert "Database upgrade" in english
    assert "The window moves by a day." in english
