"""Email through the loopback SendGrid: each answer's outcome, for this message and the next;
what each request carries (batches of at most 1000, one-click unsubscribe, a one-line subject).

SendGrid v3 mail/send errors: https://www.twilio.com/docs/sendgrid/api-reference/mail-send
"""

from __future__ import annotations

import re

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.tables import Incident, Suppression
from status_page import create_app
from tests.conftest import Client
from tests.fakes import FakeSendGrid
from tests.fakes.base import Failure
from tests.fakes.sendgrid import bad_address
from tests.notifier.delivery.deliveries import rows
from tests.notifier.delivery.test_sending import add_audience, post_incident, run_worker

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, provider_settings: Settings) -> Client:
    return await aiohttp_client(create_app(provider_settings))


async def suppressions(sessions: Sessions) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        found = await session.scalars(select(Suppression).order_by(Suppression.address))
        return [(s.channel, s.address, s.reason) for s in found]


def asked(sendgrid: FakeSendGrid, title: str) -> list[str]:
    """Every address SendGrid was asked to mail about ``title``, in order."""
    return [to for r in sendgrid.requests if title in r.body["subject"] for to in r.recipients]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_it_retries_a_5xx(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
    status: int,
) -> None:
    await add_audience(provider_settings, 2)
    sendgrid.fail(Failure(status=status))
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert [r.message_id != "" for r in sendgrid.requests] == [False, True]
    assert {(r.status, r.attempts) for r in await rows(sessions)} == {("sent", 2)}


async def test_a_rejected_address_is_suppressed_and_never_asked_again(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    await add_audience(provider_settings, 3)
    sendgrid.fail(Failure(status=400, body=bad_address(1)))
    await post_incident(api, admin, "First")
    await run_worker(provider_settings)
    rejected = sendgrid.requests[0].recipients[1]
    # The others went at once, in the same attempt, not after a retry.
    assert sorted((r.status, r.attempts) for r in await rows(sessions)) == [
        ("failed", 1),
        ("sent", 1),
        ("sent", 1),
    ]

    await post_incident(api, admin, "Second")
    await run_worker(provider_settings)

    assert rejected not in sendgrid.delivered
    assert len(asked(sendgrid, "Second")) == 2
    assert rejected not in asked(sendgrid, "Second")
    assert await suppressions(sessions) == [("email", rejected, "invalid")]
    second_rows = (await rows(sessions))[3:]
    assert sorted(r.status for r in second_rows) == ["sent", "sent", "suppressed"]


async def test_a_400_about_the_message_fails_the_batch_but_suppresses_nobody(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: Sessions,
) -> None:
    sendgrid.fail(
        Failure(
            status=400,
            body={"errors": [{"message": "The subject is required.", "field": "subject"}]},
        )
    )
    await add_audience(provider_settings, 2)
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert len(sendgrid.requests) == 1  # permanent: no retry
    assert {(r.status, r.last_error) for r in await rows(sessions)} == {
        ("failed", "SendGrid rejected the message (400): subject")
    }
    assert await suppressions(sessions) == []


async def test_links_are_not_rewritten_and_opens_are_not_tracked(
    api: Client, admin: Headers, provider_settings: Settings, sendgrid: FakeSendGrid
) -> None:
    await add_audience(provider_settings, 1)
    await post_incident(api, admin)
    await run_worker(provider_settings)

    [request] = sendgrid.requests
    assert request.body["tracking_settings"] == {
        "click_tracking": {"enable": False, "enable_text": False},
        "open_tracking": {"enable": False},
    }
    headers = request.body["personalizations"][0]["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://status.test/unsubscribe/")


async def test_2500_email_recipients_go_in_3_sendgrid_requests(
    api: Client, admin: Headers, provider_settings: Settings, sendgrid: FakeSendGrid
) -> None:
    await add_audience(provider_settings, 2500)
    await post_incident(api, admin)
    await run_worker(provider_settings)

    assert sorted(len(r.recipients) for r in sendgrid.requests) == [500, 1000, 1000]
    assert len(set(sendgrid.delivered)) == 2500
    request = sendgrid.requests[0]
    first = request.body["personalizations"][0]
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["headers"]["List-Unsubscribe"].startswith("<http://status.test/unsubscribe/")
    assert first["custom_args"]["delivery_id"].isdigit()
    assert first["substitutions"]["%%greeting%%"].startswith("Hi Person ")
    assert [c["type"] for c in request.body["content"]] == ["text/plain", "text/html"]
    # SendGrid fills in every token the content carries, for every recipient.
    content = request.body["subject"] + "".join(c["value"] for c in request.body["content"])
    tokens = set(re.findall(r"%%\w+%%", content))
    assert {"%%greeting%%", "%%unsubscribe_url%%", "%%manage_url_html%%"} <= tokens
    for personalization in request.body["personalizations"]:
        assert tokens <= set(personalization["substitutions"])


async def test_a_title_with_cr_lf_reaches_sendgrid_as_a_one_line_subject(
    api: Client,
    admin: Headers,
    provider_settings: Settings,
    sendgrid: FakeSendGrid,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_audience(provider_settings, 1)
    incident_id = await post_incident(api, admin)
    # Written directly: a stored row may hold what the API refuses.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id)
            .values(title="x\r\nBcc: someone@example.test")
        )
    await run_worker(provider_settings)

    [request] = sendgrid.requests
    subject = request.body["subject"]
    assert "\r" not in subject
    assert "\n" not in subject
    assert "x Bcc: someone@example.test" in subject
    assert [p["to"] for p in request.body["personalizations"]] == [
        [{"email": sendgrid.delivered[0]}]
    ]
