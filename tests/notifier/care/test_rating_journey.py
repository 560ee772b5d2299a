"""A rating prompt's whole journey, every part real: an incident posted through the ops
API reaches customers by email, SMS and in-app; it is resolved; after the delay the
worker's rating tick asks each of them (controlled clock, a real worker, the SendGrid
and Twilio fakes); then each answers the way their channel offers, and the subject's
report counts the answers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from config import Settings
from notifier.tables import Incident
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid, FakeTwilio
from tests.fakes.sendgrid import MailRequest
from tests.notifier.care.test_prompts import (
    DELAY,
    RESOLVED,
    Headers,
    Sessions,
    prompt_texts,
    resolved_incident,
    tick,
)
from tests.notifier.delivery.test_care import run_due
from tests.status_page.signups import csrf_token
from tests.status_page.test_inbox import as_user
from tests.status_page.test_webhooks import twilio_signed


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


ASKED = RESOLVED + DELAY + timedelta(seconds=30)
ANSWERED = ASKED + timedelta(hours=2)
TARO = "+819012345678"
INBOUND = "/webhooks/twilio/inbound"
OURS = """{{ token("greeting") }} In our own words: {{ question }}
{% for s in scores %}{{ s }}: {{ token("rating_url_" ~ s) }}
{% endfor %}
Unsubscribe: {{ token("unsubscribe_url") }}"""


def score_links(mail: dict[str, Any], content_type: str = "text/plain") -> dict[int, str]:
    """Score -> link, read from a prompt email as its recipient sees it: the body SendGrid
    got with this personalization's substitutions applied."""
    [content] = [c["value"] for c in mail["content"] if c["type"] == content_type]
    for key, value in mail["personalization"]["substitutions"].items():
        content = content.replace(key, value)
    found = re.findall(r"(https?://[^\s\"<]+/rate/[^\s\"<?]+\?score=(\d+))", content)
    return {int(score): link.replace("&amp;", "&") for link, score in found}


def subject(request: MailRequest) -> str:
    found: str = request.body["subject"]
    return found


def prompt_mail(sendgrid: FakeSendGrid) -> dict[str, Any]:
    """The one prompt email SendGrid accepted: its body and its one personalization."""
    [request] = [r for r in sendgrid.requests if r.message_id and "How did we" in subject(r)]
    [personalization] = request.body["personalizations"]
    return {"content": request.body["content"], "personalization": personalization}


async def reply(api: Client, twilio: FakeTwilio, body: str) -> str:
    """Taro's text ``body`` through the signed inbound webhook; the TwiML answer."""
    form = {"From": TARO, "To": "+15005550006", "Body": body}
    answer = await api.post(INBOUND, data=form, headers=twilio_signed(twilio, INBOUND, form))
    assert answer.status == 200
    return await answer.text()


async def report(api: Client, admin: Headers, incident: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/reports/subjects/incident/{incident}", headers=admin)
    assert response.status == 200, await response.text()
    figures: dict[str, Any] = await response.json()
    return figures


def answers(figures: dict[str, Any]) -> tuple[int, int, float | None, int, float | None]:
    """(prompts sent, responses, response rate, CSAT count, CSAT %)."""
    ratings, csat = figures["ratings"], figures["csat"]
    return (
        ratings["prompts_sent"],
        ratings["responses"],
        ratings["response_rate"],
        csat["count"],
        csat["percent"],
    )


async def test_a_resolved_incident_is_rated_by_email_sms_and_in_app(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sessions: Sessions,
    sendgrid: FakeSendGrid,
    twilio: FakeTwilio,
) -> None:
    settings = provider_settings
    incident = await resolved_incident(api, admin, settings)
    async with sessions() as session:
        assert await session.scalar(select(Incident.status)) == "resolved"
    # Told before: an email to Ann, a text to Taro, an inbox item for the app user.
    assert "ann@example.com" in sendgrid.delivered
    assert any(r.form["To"] == TARO for r in twilio.requests if r.sid)

    # Ops wrote the prompt's plain-text email themselves, score links and all.
    override = await api.put(
        "/api/v1/templates/incident_rating/en/email_text", json={"source": OURS}, headers=admin
    )
    assert override.status == 201, await override.text()

    with time_machine.travel(ASKED):
        assert await tick(settings, sessions) == 1
        await run_due(settings)
    assert len(prompt_texts(twilio)) == 1

    with time_machine.travel(ANSWERED):
        assert answers(await report(api, admin, incident)) == (3, 0, 0.0, 0, None)

        # (a) Email: the link for 4, as the mail shows it. A scanner opens it: nothing.
        mail = prompt_mail(sendgrid)
        links = score_links(mail)
        assert "In our own words:" in mail["content"][0]["value"]
        assert sorted(links) == [1, 2, 3, 4, 5]
        assert score_links(mail, "text/html") == links
        url = urlsplit(links[4])
        assert f"{url.scheme}://{url.netloc}" == str(settings.public_url).rstrip("/")
        link = f"{url.path}?{url.query}"
        for _ in range(2):
            page = await api.get(link)
            assert page.status == 200
            assert "How satisfied were you with how we kept you informed?" in await page.text()
        assert answers(await report(api, admin, incident)) == (3, 0, 0.0, 0, None)
        # The customer presses the button.
        token = await csrf_token(api, link)
        thanks = await api.post(url.path, data={"csrf_token": token, "score": "4"})
        assert thanks.status == 200
        assert "Thank you for your answer" in await thanks.text()
        assert answers(await report(api, admin, incident)) == (3, 1, 33.33, 1, 100.0)

        # (b) SMS: Taro first replies "maybe" (one clarification), then "4" (thanked).
        assert "<Message>1から5の数字だけで" in await reply(api, twilio, "maybe")
        assert "<Message>ご回答ありがとうございました" in await reply(api, twilio, "4")
        assert answers(await report(api, admin, incident)) == (3, 2, 66.67, 2, 100.0)

        # (c) In-app: the prompt item carries the buttons; the user answers 2.
        user = as_user(settings, "user-7")
        listed = await api.get("/api/v1/inbox", headers=user)
        assert listed.status == 200
        [item] = [m for m in (await listed.json())["data"] if m["rating"] is not None]
        assert (item["rating"]["min_score"], item["rating"]["max_score"]) == (1, 5)
        assert "Choose a score from 1 (very dissatisfied) to 5" in item["body"]
        assert "Reply" not in item["body"]
        rated = await api.post(
            f"/api/v1/inbox/{item['id']}/rating", json={"score": 2}, headers=user
        )
        assert rated.status == 200, await rated.text()
        assert (await rated.json())["data"]["rating"]["score"] == 2
        figures = await report(api, admin, incident)
    assert answers(figures) == (3, 3, 100.0, 3, 66.67)
    # Each customer's timeline shows their answer on the prompt, and only there.
    for customer, score, channel in (
        ("ann", 4, "email"),
        ("taro", 4, "sms"),
        ("app-user", 2, "inapp"),
    ):
        timeline = await api.get(f"/api/v1/customers/{customer}/timeline", headers=admin)
        assert timeline.status == 200, await timeline.text()
        entries = (await timeline.json())["data"]
        answered = [(e["kind"], e["rating"]) for e in entries if e["rating"] is not None]
        assert [(kind, r["scale"], r["score"], r["channel"]) for kind, r in answered] == [
            ("rating_prompt", "csat", score, channel)
        ]
        assert {e["kind"] for e in entries} == {"incident_update", "rating_prompt"}
