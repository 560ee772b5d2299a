"""What provider webhooks leave behind for the next message: suppressions, consent, states.

Through the signed webhooks, as the providers call them (helpers from
``tests/status_page/test_webhooks.py``).
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.tables import Suppression
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.notifier.delivery.deliveries import rows
from tests.notifier.delivery.test_sending import add_audience, post_incident, run_worker
from tests.status_page.test_webhooks import sendgrid_signed, twilio_signed

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]
INBOUND, STATUS, EVENTS = (
    "/webhooks/twilio/inbound",
    "/webhooks/twilio/status",
    "/webhooks/sendgrid/events",
)


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def hooked(provider_settings: Settings, signing_key: ec.EllipticCurvePrivateKey) -> Settings:
    der = signing_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sendgrid = provider_settings.sendgrid.model_copy(
        update={"webhook_public_key": base64.b64encode(der).decode()}
    )
    return provider_settings.model_copy(update={"sendgrid": sendgrid})


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, hooked: Settings) -> Client:
    return await aiohttp_client(create_app(hooked))


async def suppressions(sessions: Sessions) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        found = await session.scalars(select(Suppression).order_by(Suppression.address))
        return [(s.channel, s.address, s.reason) for s in found]


async def sendgrid_posts(
    api: Client, key: ec.EllipticCurvePrivateKey, events: list[dict[str, str]]
) -> None:
    body = json.dumps(events)
    response = await api.post(EVENTS, data=body, headers=sendgrid_signed(key, body))
    assert response.status == 204


async def twilio_posts(api: Client, twilio: FakeTwilio, path: str, form: dict[str, str]) -> None:
    response = await api.post(path, data=form, headers=twilio_signed(twilio, path, form))
    assert response.status in (200, 204)


async def test_a_spam_report_suppresses_the_address_even_if_consent_is_imported_again(
    api: Client,
    admin: Headers,
    hooked: Settings,
    sendgrid: FakeSendGrid,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: Sessions,
) -> None:
    response = await api.put(
        "/api/v1/customers/reporter",
        json={
            "email": "reporter@example.com",
            "consent": {"channels": ["email"], "legal_basis": "contract"},
            "follows": {"page": True},
        },
        headers=admin,
    )
    assert response.status == 201
    await post_incident(api, admin, "First")
    await run_worker(hooked)
    await sendgrid_posts(
        api,
        signing_key,
        [{"event": "spamreport", "email": "reporter@example.com", "sg_event_id": "s1"}],
    )
    # Ops import the customer list again, consent and all.
    response = await api.put(
        "/api/v1/customers/reporter",
        json={
            "email": "reporter@example.com",
            "consent": {"channels": ["email"], "legal_basis": "contract"},
            "follows": {"page": True},
        },
        headers=admin,
    )
    assert response.status == 200

    await post_incident(api, admin, "Second")
    await run_worker(hooked)

    assert sendgrid.delivered == ["reporter@example.com"]  # the first only
    assert await suppressions(sessions) == [("email", "reporter@example.com", "spam_report")]
    assert [r.last_error for r in await rows(sessions)] == [
        None,
        "address suppressed: spam_report",
    ]


async def test_start_lifts_an_opt_out_but_not_a_carriers_verdict_on_the_number(
    api: Client,
    admin: Headers,
    hooked: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(hooked, 2, email=False, phone=True)
    await post_incident(api, admin, "First")
    await run_worker(hooked)
    opted_out, landline = "+14155550000", "+14155550001"
    await twilio_posts(
        api, twilio, INBOUND, {"From": opted_out, "To": "+15005550006", "Body": "STOP"}
    )
    sid = next(r.sid for r in twilio.requests if r.to == landline)
    await twilio_posts(
        api,
        twilio,
        STATUS,
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"},
    )

    for number in (opted_out, landline):
        await twilio_posts(
            api, twilio, INBOUND, {"From": number, "To": "+15005550006", "Body": "START"}
        )

    assert await suppressions(sessions) == [("sms", landline, "invalid")]
    await post_incident(api, admin, "Second")
    await run_worker(hooked)
    assert [r.to for r in twilio.requests if "Second" in r.form["Body"]] == [opted_out]


async def test_a_redelivered_event_does_not_undo_a_later_one(
    api: Client,
    admin: Headers,
    hooked: Settings,
    sendgrid: FakeSendGrid,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: Sessions,
) -> None:
    await add_audience(hooked, 1)
    await post_incident(api, admin)
    await run_worker(hooked)
    [row] = await rows(sessions)
    [address] = sendgrid.delivered
    delivered = {
        "event": "delivered",
        "email": address,
        "sg_event_id": "d1",
        "delivery_id": str(row.id),
    }
    bounce = {
        "event": "bounce",
        "email": address,
        "sg_event_id": "b1",
        "delivery_id": str(row.id),
        "reason": "550 5.1.1 mailbox disabled",
        "type": "bounce",
    }

    await sendgrid_posts(api, signing_key, [delivered])
    await sendgrid_posts(api, signing_key, [bounce])
    await sendgrid_posts(api, signing_key, [delivered])  # SendGrid retries a batch it sent

    [row] = await rows(sessions)
    assert (row.status, row.last_error) == ("bounced", "bounce: 550 5.1.1 mailbox disabled")


async def test_a_twilio_callback_never_touches_an_email_delivery(
    api: Client,
    admin: Headers,
    hooked: Settings,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
    sessions: Sessions,
) -> None:
    await add_audience(hooked, 1)
    await post_incident(api, admin)
    await run_worker(hooked)
    [email] = await rows(sessions)
    assert email.provider_id

    form = {"MessageSid": email.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    await twilio_posts(api, twilio, STATUS, form)

    [email] = await rows(sessions)
    assert (email.status, email.last_error) == ("sent", None)
    assert await suppressions(sessions) == []


@pytest.mark.parametrize("kind", ["unsubscribe", "group_unsubscribe"])
async def test_an_unsubscribe_at_sendgrid_stops_our_email_too(
    api: Client,
    admin: Headers,
    hooked: Settings,
    sendgrid: FakeSendGrid,
    signing_key: ec.EllipticCurvePrivateKey,
    sessions: Sessions,
    kind: str,
) -> None:
    # SendGrid's own unsubscribe footer or preference page: the customer said no to us.
    await add_audience(hooked, 2)
    await post_incident(api, admin, "First")
    await run_worker(hooked)
    leaver, stayer = sorted(sendgrid.delivered)
    await sendgrid_posts(api, signing_key, [{"event": kind, "email": leaver, "sg_event_id": "u1"}])

    await post_incident(api, admin, "Second")
    await run_worker(hooked)

    assert [
        to for r in sendgrid.requests if "Second" in r.body["subject"] for to in r.recipients
    ] == [stayer]
    assert await suppressions(sessions) == [("email", leaver, "unsubscribe")]


@pytest.mark.parametrize(
    ("code", "suppressed"), [("21614", True), ("30005", True), ("30003", False)]
)
async def test_a_carriers_verdict_suppresses_the_number_as_the_twilio_error_table_says(
    api: Client,
    admin: Headers,
    hooked: Settings,
    twilio: FakeTwilio,
    sessions: Sessions,
    code: str,
    suppressed: bool,
) -> None:
    # 21614 (not a mobile number) suppressed the number on a send but not in a callback
    # before the table was one (channels/twilio_errors.py); 30003 is a handset switched
    # off, which passes.
    await add_audience(hooked, 1, email=False, phone=True)
    await post_incident(api, admin, "First")
    await run_worker(hooked)
    [request] = twilio.requests
    await twilio_posts(
        api,
        twilio,
        STATUS,
        {"MessageSid": request.sid, "MessageStatus": "undelivered", "ErrorCode": code},
    )

    expected = [("sms", request.to, "invalid")] if suppressed else []
    assert await suppressions(sessions) == expected
    assert [(r.status, r.last_error) for r in await rows(sessions)] == [
        ("failed", f"carrier: undelivered {code}")
    ]
