"""Subscribing from the public page: double opt-in, and nothing given away to abuse."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from config import Settings
from notifier.db import utcnow
from notifier.tables import Consent, Customer, Signup, Subscription
from status_page import create_app
from tests.conftest import Client, make_settings
from tests.fakes import FakeTwilio
from tests.notifier.delivery.test_sending import post_incident, run_worker
from tests.status_page.signups import (
    PUBLIC,
    csrf_token,
    form,
    link,
    outbox,
    sign_up,
    without_tokens,
)

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]
EMAIL = "Aiko.Tanaka@Example.com"
PHONE = "+81 90 1234 5678"


async def new_component(client: Client, admin: Headers, name: str) -> str:
    response = await client.post("/api/v1/components", json={"name": name}, headers=admin)
    assert response.status == 201
    ident: str = (await response.json())["id"]
    return ident


async def signups(sessions: Sessions) -> list[Signup]:
    async with sessions() as session:
        return list((await session.scalars(select(Signup))).all())


async def consents(sessions: Sessions) -> list[tuple[str | None, str | None, str, str, bool]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.email, Customer.phone, Consent.channel, Consent.method, Consent)
            .join(Consent, Consent.customer_id == Customer.id)
            .order_by(Consent.id)
        )
        return [
            (email, phone, channel, method, c.confirmed_at is not None and c.revoked_at is None)
            for email, phone, channel, method, c in rows
        ]


async def confirm_by_link(client: Client, message: dict[str, Any]) -> str:
    path = link(message["body"], "/subscribe/confirm/")
    page = await client.get(path)
    assert page.status == 200
    token = await csrf_token(client, path)
    done = await client.post(path, data={"csrf_token": token})
    assert done.status == 200
    text = await done.text()
    assert "You are subscribed" in text
    return text


async def confirm_for_manage_link(client: Client, message: dict[str, str]) -> str:
    """Confirm by the message's link; returns the path of the manage link shown."""
    path = link(message["body"], "/subscribe/confirm/")
    done = await client.post(path, data={"csrf_token": await csrf_token(client, path)})
    text = await done.text()
    assert done.status == 200, text
    start = text.index('href="/manage/') + len('href="')
    return text[start : text.index('"', start)]


async def test_an_email_sign_up_gets_nothing_but_the_confirmation_until_confirmed(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    response = await sign_up(client, email=EMAIL, scope="components", components=[api])
    assert response.status == 200
    assert "Check your inbox" in await response.text()
    await run_worker(settings)
    [message] = await outbox(client)
    assert (message["channel"], message["to"]) == ("email", "aiko.tanaka@example.com")
    assert "Confirm your subscription" in message["subject"]

    # Before confirming: no customer, no consent, and an incident reaches nobody.
    await post_incident(client, admin)
    await run_worker(settings)
    assert len(await outbox(client)) == 1
    assert await consents(sessions) == []

    await confirm_by_link(client, message)
    async with sessions() as session:
        customer = await session.scalar(select(Customer))
        consent = await session.scalar(select(Consent))
        follows = (await session.scalars(select(Subscription.component_id))).all()
    assert customer is not None
    assert consent is not None
    assert (customer.email, customer.locale, customer.time_zone) == (
        "aiko.tanaka@example.com",
        "en",
        "Asia/Tokyo",
    )
    # Forewarn's own id for a customer the business did not name: the ops API finds it.
    assert re.fullmatch(r"page_[0-9a-z]{20}", customer.external_id or "")
    assert (consent.channel, consent.method) == ("email", "double_opt_in")
    assert consent.confirmed_at is not None
    assert list(follows) == [api]
    assert await signups(sessions) == []

    created = await client.post(
        "/api/v1/incidents",
        json={
            "title": "API errors",
            "body": "Some calls fail.",
            "components": [{"component_id": api, "status": "partial_outage"}],
        },
        headers=admin,
    )
    assert created.status == 201
    await run_worker(settings)
    *_, incident = await outbox(client)
    assert incident["to"] == "aiko.tanaka@example.com"
    assert "API errors" in incident["subject"]
    assert link(incident["body"], "/manage/")


async def test_a_confirmation_link_opened_twice_only_confirms_once(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    await sign_up(client, email=EMAIL)
    await run_worker(settings)
    [message] = await outbox(client)
    await confirm_by_link(client, message)

    again = await client.get(link(message["body"], "/subscribe/confirm/"))

    assert again.status == 404
    assert "This link does not work any more" in await again.text()
    assert len(await consents(sessions)) == 1


async def test_a_pending_sign_up_of_a_known_customer_adds_nobody_to_the_audience(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    # Known to the business and following the page, but never consented to email.
    put = await client.put(
        "/api/v1/customers/c-1",
        json={"email": "aiko.tanaka@example.com", "follows": {"page": True}},
        headers=admin,
    )
    assert put.status == 201
    await sign_up(client, email=EMAIL)
    await run_worker(settings)
    assert [m["subject"] for m in await outbox(client)] == [
        "[Test status] Confirm your subscription"
    ]

    await post_incident(client, admin)
    await run_worker(settings)

    assert len(await outbox(client)) == 1
    [message] = await outbox(client)
    await confirm_by_link(client, message)
    await post_incident(client, admin, "Second incident")
    await run_worker(settings)
    *_, incident = await outbox(client)
    assert "Second incident" in incident["subject"]
    async with sessions() as session:
        assert len((await session.scalars(select(Customer))).all()) == 1  # the same record


async def test_an_sms_sign_up_is_confirmed_with_the_texted_code(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    response = await sign_up(client, channel="sms", phone=PHONE, locale="ja")
    assert response.status == 200
    await run_worker(settings)
    [message] = await outbox(client, "sms")
    assert message["to"] == "+819012345678"
    match = re.search(r"\b(\d{6})\b", message["body"])
    assert match, message["body"]
    code = match.group(1)
    assert "YES" in message["body"]

    token = await csrf_token(client)
    wrong = "000000" if code != "000000" else "111111"
    refused = await client.post("/subscribe/verify", data={"csrf_token": token, "code": wrong})
    assert refused.status == 422
    assert 'id="code-error"' in await refused.text()
    assert await consents(sessions) == []

    done = await client.post("/subscribe/verify", data={"csrf_token": token, "code": code})

    assert done.status == 200
    assert "You are subscribed" in await done.text()
    assert await consents(sessions) == [(None, "+819012345678", "sms", "double_opt_in", True)]
    async with sessions() as session:
        customer = await session.scalar(select(Customer))
    assert customer is not None
    assert customer.locale == "ja"


async def test_too_many_wrong_codes_void_the_sign_up(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    await sign_up(client, channel="sms", phone=PHONE)
    await run_worker(settings)
    token = await csrf_token(client)
    statuses = []
    for _ in range(6):
        answer = await client.post("/subscribe/verify", data={"csrf_token": token, "code": "x"})
        statuses.append(answer.status)
    assert statuses == [422, 422, 422, 422, 400, 400]
    assert await consents(sessions) == []


@pytest.fixture
async def twilio_api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def test_replying_yes_confirms_a_pending_sms_sign_up(
    twilio_api: Client, provider_settings: Settings, twilio: FakeTwilio, sessions: Sessions
) -> None:
    await sign_up(twilio_api, channel="sms", phone="+1 415 555 0100")
    await run_worker(provider_settings)
    assert twilio.delivered == ["+14155550100"]
    assert "reply YES" in twilio.requests[0].form["Body"]

    path = "/webhooks/twilio/inbound"
    reply = {"From": "+14155550100", "Body": "yes"}
    signature = RequestValidator(twilio.auth_token).compute_signature(PUBLIC + path, reply)
    answer = await twilio_api.post(path, data=reply, headers={"X-Twilio-Signature": signature})

    assert answer.status == 200
    assert await consents(sessions) == [(None, "+14155550100", "sms", "double_opt_in", True)]
    assert await signups(sessions) == []


async def test_a_yes_from_a_number_without_a_sign_up_subscribes_nobody(
    twilio_api: Client, twilio: FakeTwilio, sessions: Sessions
) -> None:
    path = "/webhooks/twilio/inbound"
    reply = {"From": "+14155550100", "Body": "YES"}
    signature = RequestValidator(twilio.auth_token).compute_signature(PUBLIC + path, reply)
    answer = await twilio_api.post(path, data=reply, headers={"X-Twilio-Signature": signature})

    assert answer.status == 200
    assert await consents(sessions) == []


@pytest.mark.parametrize(
    ("channel", "address"), [("email", EMAIL), ("sms", PHONE)], ids=["email", "sms"]
)
async def test_the_answer_is_the_same_whether_or_not_the_address_is_subscribed(
    client: Client, settings: Settings, admin: Headers, channel: str, address: str
) -> None:
    field = "email" if channel == "email" else "phone"
    put = await client.put(
        "/api/v1/customers/known",
        json={
            field: address,
            "consent": {"channels": [channel], "legal_basis": "contract"},
            "follows": {"page": True},
        },
        headers=admin,
    )
    assert put.status == 201
    other = "someone.else@example.com" if channel == "email" else "+81 80 9876 5432"

    known = await sign_up(client, channel=channel, **{field: address})
    unknown = await sign_up(client, channel=channel, **{field: other})

    assert (known.status, unknown.status) == (200, 200)
    assert without_tokens(await known.text()) == without_tokens(await unknown.text())
    await run_worker(settings)
    sent = {m["to"]: m for m in await outbox(client, channel)}
    assert len(sent) == 2  # the worker sends both at once: in no particular order
    already = sent["aiko.tanaka@example.com" if channel == "email" else "+819012345678"]
    confirmation = sent["someone.else@example.com" if channel == "email" else "+818098765432"]
    # The subscriber hears that they are, with their manage link; nothing changed.
    assert link(already["body"], "/manage/")
    assert "/subscribe/confirm/" not in already["body"]
    # No code: six digits outside the links (a link's random token may hold six in a row).
    assert re.search(r"\d{6}", re.sub(r"https?://\S+", "", already["body"])) is None
    assert "already" in already["body"]
    manage = await client.get(link(already["body"], "/manage/"))
    assert manage.status == 200
    if channel == "email":
        assert link(confirmation["body"], "/subscribe/confirm/")


async def test_a_filled_honeypot_gets_the_same_answer_and_nothing_is_stored_or_sent(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    real = await sign_up(client, email="real@example.com")
    bot = await sign_up(client, email="bot@example.com", website="http://spam.example")

    assert bot.status == real.status == 200
    assert without_tokens(await bot.text()) == without_tokens(await real.text())
    assert [s.address for s in await signups(sessions)] == ["real@example.com"]
    await run_worker(settings)
    assert [m["to"] for m in await outbox(client)] == ["real@example.com"]


@pytest.mark.parametrize("token", ["", "forged", "other-cookie"])
async def test_a_form_without_a_valid_csrf_token_gets_403_and_changes_nothing(
    client: Client, aiohttp_client: AiohttpClient, settings: Settings, sessions: Sessions,
    token: str,
) -> None:  # fmt: skip
    fields = {"email": EMAIL}
    if token == "forged":
        await csrf_token(client)  # the cookie is set; the field is not its MAC
        response = await client.post("/subscribe", data=form("0" * 64, fields))
    elif token == "other-cookie":
        # A token taken from another browser's page does not match this one's cookie.
        stolen = await csrf_token(await aiohttp_client(create_app(settings)))
        await csrf_token(client)
        response = await client.post("/subscribe", data=form(stolen, fields))
    else:
        pairs = [p for p in form("", fields) if p[0] != "csrf_token"]
        response = await client.post("/subscribe", data=pairs)

    assert response.status == 403
    assert "This form has expired" in await response.text()
    assert await signups(sessions) == []


async def test_sign_ups_over_the_limit_per_ip_get_429(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, sessions: Sessions
) -> None:
    settings = make_settings(
        database_url, redis_url, subscribe={"email_per_ip": 2, "sms_per_ip": 1}
    )
    client = await aiohttp_client(create_app(settings))

    answers = [(await sign_up(client, email=f"p{i}@example.com")).status for i in range(3)]
    sms = [(await sign_up(client, channel="sms", phone=p)).status for p in (PHONE, PHONE)]

    assert answers == [200, 200, 429]
    assert sms == [200, 429]
    assert len(await signups(sessions)) == 3
    page = await sign_up(client, email="p9@example.com")
    assert "Too many requests" in await page.text()


async def test_messages_over_the_limit_per_address_get_429_whoever_asks(
    aiohttp_client: AiohttpClient,
    database_url: str,
    redis_url: str,
    admin: Headers,
    sessions: Sessions,
) -> None:
    settings = make_settings(database_url, redis_url, subscribe={"per_destination": 2})
    client = await aiohttp_client(create_app(settings))
    await client.put(
        "/api/v1/customers/known",
        json={
            "email": "known@example.com",
            "consent": {"channels": ["email"], "legal_basis": "contract"},
        },
        headers=admin,
    )

    new = [(await sign_up(client, email="new@example.com")).status for _ in range(3)]
    known = [(await sign_up(client, email="known@example.com")).status for _ in range(3)]

    assert new == known == [200, 200, 429]
    over_new = await sign_up(client, email="NEW@example.com")
    over_known = await sign_up(client, email="known@example.com")
    assert without_tokens(await over_new.text()) == without_tokens(await over_known.text())
    assert len(await signups(sessions)) == 4


async def test_a_number_from_a_country_not_allowed_gets_422_naming_the_field(
    client: Client, sessions: Sessions
) -> None:
    response = await sign_up(client, channel="sms", phone="+44 7400 123456")

    assert response.status == 422
    text = await response.text()
    assert 'id="phone-error"' in text
    assert "Mobile number" in text
    assert "JP (+81), US (+1)" in text
    assert 'value="+44 7400 123456"' in text  # what they typed stays
    assert await signups(sessions) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"channel": "sms", "phone": "12345"}, "phone"),
        ({"channel": "sms", "phone": "+81 3 1234 5678"}, "phone"),  # a Tokyo landline
        ({"email": EMAIL, "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"email": EMAIL, "scope": "components"}, "components"),
        ({"email": EMAIL, "scope": "components", "components": ["nope"]}, "components"),
        ({"email": EMAIL, "locale": "fr"}, "locale"),
    ],
)
async def test_bad_input_gets_422_naming_the_field_and_changes_nothing(
    client: Client, sessions: Sessions, fields: dict[str, Any], field: str
) -> None:
    response = await sign_up(client, **fields)

    assert response.status == 422
    text = await response.text()
    assert f'id="{field}-error"' in text
    assert 'role="alert"' in text
    assert await signups(sessions) == []


async def test_tampered_and_expired_confirmation_links_change_nothing(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    await sign_up(client, email=EMAIL)
    await run_worker(settings)
    [message] = await outbox(client)
    path = link(message["body"], "/subscribe/confirm/")
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    token = await csrf_token(client)

    for bad in (tampered, "/subscribe/confirm/nonsense"):
        assert (await client.get(bad)).status == 404
        assert (await client.post(bad, data={"csrf_token": token})).status == 404

    async with sessions() as session, session.begin():
        await session.execute(update(Signup).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await client.get(path)
    posted = await client.post(path, data={"csrf_token": token})

    assert page.status == posted.status == 404
    assert "This link does not work any more" in await posted.text()
    assert await consents(sessions) == []


async def test_after_unsubscribing_a_new_sign_up_is_confirmed_and_told_again(
    client: Client, admin: Headers, settings: Settings
) -> None:
    await sign_up(client, email="sam@example.com")
    await run_worker(settings)
    manage = await confirm_for_manage_link(client, (await outbox(client))[-1])
    response = await client.post(
        manage + "/unsubscribe", data={"csrf_token": await csrf_token(client, manage)}
    )
    assert response.status == 200

    await sign_up(client, email="sam@example.com")
    await run_worker(settings)
    again = (await outbox(client))[-1]
    # Not "you are already subscribed": they are not, and would never hear again.
    assert "Confirm your subscription" in again["subject"]
    await confirm_for_manage_link(client, again)
    await post_incident(client, admin, "Checkout errors")
    await run_worker(settings)

    latest = (await outbox(client))[-1]
    assert (latest["to"], latest["subject"]) == (
        "sam@example.com",
        "[Test status] Checkout errors: Investigating",
    )


async def test_the_page_speaks_japanese(client: Client) -> None:
    response = await client.get("/subscribe?lang=ja")

    text = await response.text()
    assert response.status == 200
    assert '<html lang="ja">' in text
    assert "更新情報の配信登録" in text
    assert "メールアドレス" in text
    assert "登録する" in text


async def test_a_japanese_sign_up_gets_a_japanese_confirmation(
    client: Client, settings: Settings
) -> None:
    await sign_up(client, email=EMAIL, locale="ja")
    await run_worker(settings)

    [message] = await outbox(client)
    assert message["subject"] == "【Test status】配信登録の確認"
    assert "配信登録を完了する" in message["html"]


async def test_no_address_or_number_in_any_link_or_log_line(
    client: Client, admin: Headers, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger at DEBUG: SQL statements, aiohttp's access log, arq, the drivers.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # which sets WARNING itself
    await sign_up(client, email=EMAIL)
    await sign_up(client, channel="sms", phone=PHONE)
    await run_worker(settings)
    [email] = await outbox(client, "email")
    await confirm_by_link(client, email)
    await post_incident(client, admin)
    await run_worker(settings)

    messages = await outbox(client)
    assert len(messages) == 3
    secrets_ = ("aiko", "tanaka", "example.com", "819012345678", "90 1234", "9012345678")
    urls = [
        url
        for message in messages
        for url in re.findall(r"https?://[^\s\"<>]+", message["body"] + " " + message["html"])
    ]
    assert any("/subscribe/confirm/" in url for url in urls)
    assert any("/manage/" in url for url in urls)
    assert any("/unsubscribe/" in url for url in urls)
    for url in urls:
        assert not any(s in url.lower() for s in secrets_), url
    logged = caplog.text.lower()
    assert "sign-up" in logged
    assert not any(s in logged for s in secrets_)


@pytest.mark.parametrize("hops", [0, 1])
async def test_the_limit_per_ip_counts_the_client_behind_a_trusted_proxy_only(
    aiohttp_client: AiohttpClient, database_url: str, redis_url: str, hops: int
) -> None:
    settings = make_settings(
        database_url, redis_url, proxy_hops=hops, subscribe={"email_per_ip": 1}
    )
    client = await aiohttp_client(create_app(settings))

    answers = []
    for i, address in enumerate(("203.0.113.7", "198.51.100.9")):
        token = await csrf_token(client)
        fields = form(token, {"email": f"p{i}@example.com"})
        forwarded = {"X-Forwarded-For": address}
        answers.append((await client.post("/subscribe", data=fields, headers=forwarded)).status)

    # Behind one proxy, two visitors; with none, one client forging a header.
    assert answers == ([200, 200] if hops else [200, 429])


async def test_a_sign_up_with_names_is_greeted_by_them_once_confirmed(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    page = await (await client.get("/subscribe")).text()
    assert 'name="given_name"' in page
    assert 'name="family_name"' in page
    response = await sign_up(
        client, email=EMAIL, locale="ja", given_name=" 太郎 ", family_name="山田"
    )
    assert response.status == 200
    await run_worker(settings)
    [message] = await outbox(client)

    await confirm_by_link(client, message)

    async with sessions() as session:
        customer = await session.scalar(select(Customer))
    assert customer is not None
    assert (customer.family_name, customer.given_name) == ("山田", "太郎")
