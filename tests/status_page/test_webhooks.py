"""Provider webhooks: signed requests change delivery state; forged ones change nothing."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from config import Settings
from notifier.tables import Consent, Delivery, Suppression
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.notifier.delivery.test_sending import add_audience, post_incident, run_worker

Headers = dict[str, str]
PUBLIC = "http://status.test"


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def settings_with_hooks(
    provider_settings: Settings, signing_key: ec.EllipticCurvePrivateKey
) -> Settings:
    return with_hooks(provider_settings, signing_key)


def with_hooks(settings: Settings, signing_key: ec.EllipticCurvePrivateKey) -> Settings:
    """``settings`` whose SendGrid event webhook is verified with ``signing_key``."""
    der = signing_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sendgrid = settings.sendgrid.model_copy(
        update={"webhook_public_key": base64.b64encode(der).decode()}
    )
    return settings.model_copy(update={"sendgrid": sendgrid})


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, settings_with_hooks: Settings) -> Client:
    return await aiohttp_client(create_app(settings_with_hooks))


def twilio_signed(twilio: FakeTwilio, path: str, form: dict[str, str]) -> Headers:
    signature = RequestValidator(twilio.auth_token).compute_signature(PUBLIC + path, form)
    return {"X-Twilio-Signature": signature}


def sendgrid_signed(key: ec.EllipticCurvePrivateKey, body: str) -> Headers:
    timestamp = str(int(time.time()))
    signature = key.sign((timestamp + body).encode(), ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


async def deliveries(sessions: async_sessionmaker[AsyncSession]) -> list[Delivery]:
    async with sessions() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def send_one_sms(api: Client, admin: Headers, settings: Settings) -> None:
    await add_audience(settings, 1, email=False, phone=True)
    await post_incident(api, admin)
    await run_worker(settings)


async def test_a_signed_twilio_status_callback_marks_the_sms_delivered(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    twilio: FakeTwilio,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await send_one_sms(api, admin, settings_with_hooks)
    [delivery] = await deliveries(sessions)
    form = {"MessageSid": delivery.provider_id or "", "MessageStatus": "delivered"}
    path = "/webhooks/twilio/status"
    response = await api.post(path, data=form, headers=twilio_signed(twilio, path, form))
    assert response.status == 204
    [delivery] = await deliveries(sessions)
    assert delivery.status == "delivered"
    assert delivery.delivered_at is not None

    late = {"MessageSid": delivery.provider_id or "", "MessageStatus": "sent"}
    await api.post(path, data=late, headers=twilio_signed(twilio, path, late))
    assert (await deliveries(sessions))[0].status == "delivered"  # never goes backwards


@pytest.mark.parametrize("signature", ["", "forged", "wrong-url"])
async def test_a_forged_twilio_callback_gets_403_and_changes_nothing(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    twilio: FakeTwilio,
    sessions: async_sessionmaker[AsyncSession],
    signature: str,
) -> None:
    await send_one_sms(api, admin, settings_with_hooks)
    [delivery] = await deliveries(sessions)
    form = {
        "MessageSid": delivery.provider_id or "",
        "MessageStatus": "failed",
        "ErrorCode": "30006",
    }
    path = "/webhooks/twilio/status"
    headers = {"X-Twilio-Signature": signature} if signature else {}
    if signature == "wrong-url":
        headers = twilio_signed(twilio, "/webhooks/twilio/inbound", form)
    response = await api.post(path, data=form, headers=headers)
    assert response.status == 403
    assert (await deliveries(sessions))[0].status == "sent"
    async with sessions() as session:
        assert (await session.scalars(select(Suppression))).all() == []


async def test_a_failed_carrier_verdict_suppresses_a_landline(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    twilio: FakeTwilio,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await send_one_sms(api, admin, settings_with_hooks)
    [delivery] = await deliveries(sessions)
    form = {
        "MessageSid": delivery.provider_id or "",
        "MessageStatus": "undelivered",
        "ErrorCode": "30006",
    }
    path = "/webhooks/twilio/status"
    assert (
        await api.post(path, data=form, headers=twilio_signed(twilio, path, form))
    ).status == 204
    [delivery] = await deliveries(sessions)
    assert (delivery.status, delivery.last_error) == ("failed", "carrier: undelivered 30006")
    async with sessions() as session:
        [suppression] = (await session.scalars(select(Suppression))).all()
    assert (suppression.address, suppression.reason) == ("+14155550000", "invalid")


async def test_stop_then_no_further_sms_and_start_lifts_it(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    twilio: FakeTwilio,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await send_one_sms(api, admin, settings_with_hooks)
    assert twilio.delivered == ["+14155550000"]
    path = "/webhooks/twilio/inbound"
    stop = {"From": "+14155550000", "To": "+15005550006", "Body": " stop "}
    response = await api.post(path, data=stop, headers=twilio_signed(twilio, path, stop))
    assert response.status == 200
    assert response.content_type == "application/xml"
    async with sessions() as session:
        [consent] = (await session.scalars(select(Consent))).all()
    assert consent.revoked_at is not None

    await post_incident(api, admin, "Second problem")
    await run_worker(settings_with_hooks)
    assert twilio.delivered == ["+14155550000"]  # nothing more after STOP

    start = {"From": "+14155550000", "To": "+15005550006", "Body": "START"}
    await api.post(path, data=start, headers=twilio_signed(twilio, path, start))
    await post_incident(api, admin, "Third problem")
    await run_worker(settings_with_hooks)
    assert twilio.delivered == ["+14155550000", "+14155550000"]


async def test_help_gets_a_reply_naming_the_keywords(api: Client, twilio: FakeTwilio) -> None:
    path = "/webhooks/twilio/inbound"
    form = {"From": "+14155550000", "To": "+15005550006", "Body": "help"}
    response = await api.post(path, data=form, headers=twilio_signed(twilio, path, form))
    text = await response.text()
    assert "<Message>" in text
    assert "Reply STOP to unsubscribe" in text


async def test_sendgrid_events_update_deliveries_and_suppress_bounces_once(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    sendgrid: FakeSendGrid,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(settings_with_hooks, 2)
    await post_incident(api, admin)
    await run_worker(settings_with_hooks)
    first, second = await deliveries(sessions)
    events = [
        {
            "event": "delivered",
            "email": "x@example.com",
            "sg_event_id": "e1",
            "delivery_id": str(first.id),
        },
        {
            "event": "bounce",
            "email": sendgrid.delivered[1],
            "sg_event_id": "e2",
            "delivery_id": str(second.id),
            "reason": "550 5.1.1 no such user",
            "type": "bounce",
        },
    ]
    body = json.dumps(events)
    path = "/webhooks/sendgrid/events"
    for _ in range(2):  # SendGrid redelivers: the second time is a no-op
        response = await api.post(path, data=body, headers=sendgrid_signed(signing_key, body))
        assert response.status == 204
    first, second = await deliveries(sessions)
    assert first.status == "delivered"
    assert (second.status, second.last_error) == ("bounced", "bounce: 550 5.1.1 no such user")
    async with sessions() as session:
        suppressions = (await session.scalars(select(Suppression))).all()
    assert [(s.channel, s.address, s.reason) for s in suppressions] == [
        ("email", sendgrid.delivered[1], "bounce")
    ]


async def test_a_spam_report_withdraws_email_consent(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    sendgrid: FakeSendGrid,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(settings_with_hooks, 1)
    await post_incident(api, admin)
    await run_worker(settings_with_hooks)
    body = json.dumps(
        [{"event": "spamreport", "email": sendgrid.delivered[0], "sg_event_id": "s1"}]
    )
    path = "/webhooks/sendgrid/events"
    assert (
        await api.post(path, data=body, headers=sendgrid_signed(signing_key, body))
    ).status == 204
    async with sessions() as session:
        [consent] = (await session.scalars(select(Consent))).all()
    assert consent.revoked_at is not None


async def test_a_forged_sendgrid_webhook_gets_403_and_changes_nothing(
    api: Client,
    admin: Headers,
    settings_with_hooks: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(settings_with_hooks, 1)
    await post_incident(api, admin)
    await run_worker(settings_with_hooks)
    [delivery] = await deliveries(sessions)
    body = json.dumps(
        [
            {
                "event": "bounce",
                "email": sendgrid.delivered[0],
                "sg_event_id": "f1",
                "delivery_id": str(delivery.id),
            }
        ]
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    path = "/webhooks/sendgrid/events"
    for headers in ({}, sendgrid_signed(other_key, body)):
        assert (await api.post(path, data=body, headers=headers)).status == 403
    assert (await deliveries(sessions))[0].status == "sent"


async def test_webhooks_are_refused_when_no_verification_key_is_configured(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str
) -> None:
    client = await aiohttp_client(create_app(make_settings(database_url, redis_url)))
    for path in ("/webhooks/twilio/status", "/webhooks/sendgrid/events"):
        response = await client.post(path, data="[]", headers={"X-Twilio-Signature": "x"})
        assert response.status == 403


async def test_a_webhook_body_that_cannot_be_read_gets_400_and_changes_nothing(
    api: Client,
    twilio: FakeTwilio,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbound = "/webhooks/twilio/inbound"
    form = {"From": "+14155550000\x00", "Body": "STOP"}
    signed = await api.post(inbound, data=form, headers=twilio_signed(twilio, inbound, form))
    raw = await api.post(
        inbound,
        data=b"From=%2B14155550000&Body=STOP\xff",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            **twilio_signed(twilio, inbound, {"From": "+14155550000", "Body": "STOP"}),
        },
    )
    events = "/webhooks/sendgrid/events"
    body = '[{"event": "bounce", "email": "sam@example.com", "sg_event_id": "f\xff"}]'
    encoded = body.encode("latin-1")
    headers = sendgrid_signed(signing_key, body)
    mail = await api.post(events, data=encoded, headers=headers)

    assert (signed.status, raw.status, mail.status) == (400, 400, 400)
    async with sessions() as session:
        assert (await session.scalars(select(Suppression))).all() == []
