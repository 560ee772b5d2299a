"""An in-app user's own alert settings: the manage link the inbox hands out, the in-app
channel turned off there, and a real fan-out that then leaves their inbox alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.tables import Consent, Delivery, InboxMessage
from tests.conftest import Client
from tests.notifier.delivery.test_sending import post_incident, run_worker
from tests.status_page.signups import csrf_token, form
from tests.status_page.test_inbox import as_user

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]


async def put_customer(client: Client, admin: Headers, **fields: Any) -> None:
    body = {"inapp_user_id": "user-1", "follows": {"page": True}, **fields}
    response = await client.put("/api/v1/customers/aiko", json=body, headers=admin)
    assert response.status in (200, 201), await response.text()


async def inbox(client: Client, settings: Settings) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/inbox", params={"status": "all"}, headers=as_user(settings, "user-1")
    )
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def subjects(listed: dict[str, Any]) -> list[str]:
    """The incident each message is about: its title is "[page] <incident>: <status>"."""
    return [m["title"].split("] ", 1)[1].rsplit(":", 1)[0] for m in listed["data"]]


async def save_channels(client: Client, path: str, channels: list[str]) -> str:
    values = {"channels": channels, "quiet_start": "", "quiet_end": ""}
    response = await client.post(path, data=form(await csrf_token(client, path), values))
    assert response.status == 200
    return await response.text()


async def inapp_consent(sessions: Sessions) -> bool:
    async with sessions() as session:
        consent = await session.scalar(select(Consent).where(Consent.channel == "inapp"))
    assert consent is not None
    return consent.confirmed_at is not None and consent.revoked_at is None


async def test_an_in_app_user_turns_in_app_off_from_the_inbox_link_and_back_on(
    client: Client, settings: Settings, sessions: Sessions, admin: Headers
) -> None:
    await put_customer(client, admin)  # in-app only: no email, no phone
    await post_incident(client, admin, "Checkout errors")
    await run_worker(settings)
    first = await inbox(client, settings)
    assert subjects(first) == ["Checkout errors"]

    manage_url = first["manage_url"]
    assert manage_url.startswith("http://status.test/manage/")
    path = manage_url.removeprefix("http://status.test")
    page = await client.get(path)
    assert page.status == 200
    text = await page.text()
    assert 'name="channels" value="inapp" checked' in text
    assert "In-app message" in text
    assert "user-1" not in text  # the host's user id means nothing to its user

    saved = await save_channels(client, path, [])
    assert "Your settings are saved." in saved
    assert 'name="channels" value="inapp" checked' not in saved
    assert not await inapp_consent(sessions)

    # The host application syncs its user at each sign-in: the choice stands.
    await put_customer(client, admin, given_name="Aiko")
    assert not await inapp_consent(sessions)

    await post_incident(client, admin, "Login is slow")
    await run_worker(settings)
    after = await inbox(client, settings)
    # Nothing new arrived; what came before is still there.
    assert subjects(after) == ["Checkout errors"]
    async with sessions() as session:
        stored = (await session.scalars(select(InboxMessage.title))).all()
        rows = (
            await session.execute(
                select(Delivery.status, Delivery.last_error).where(Delivery.channel == "inapp")
            )
        ).all()
    assert len(stored) == 1
    # The second incident's in-app row is a record of what was not sent, and why.
    assert sorted(r.status for r in rows) == ["delivered", "suppressed"]
    assert [r.last_error for r in rows if r.status == "suppressed"] == [
        "no consent for this channel"
    ]

    # On again from the same link: at once, the host application vouched for the user.
    await save_channels(client, path, ["inapp"])
    assert await inapp_consent(sessions)
    await post_incident(client, admin, "Search is down")
    await run_worker(settings)
    again = await inbox(client, settings)
    assert subjects(again) == ["Search is down", "Checkout errors"]


async def test_unsubscribing_from_everything_turns_in_app_off_too(
    client: Client, settings: Settings, sessions: Sessions, admin: Headers
) -> None:
    await put_customer(
        client,
        admin,
        email="aiko@example.com",
        consent={"channels": ["email"], "legal_basis": "contract"},
    )
    manage_url = (await inbox(client, settings))["manage_url"]
    path = manage_url.removeprefix("http://status.test")
    page = await client.get(path)
    text = await page.text()
    assert 'value="email" checked' in text
    assert 'value="inapp" checked' in text
    done = await client.post(
        f"{path}/unsubscribe", data={"csrf_token": await csrf_token(client, path)}
    )
    assert done.status == 200
    assert not await inapp_consent(sessions)
    await post_incident(client, admin)
    await run_worker(settings)
    assert (await inbox(client, settings))["data"] == []


async def test_a_user_no_customer_has_gets_no_manage_link(
    client: Client, settings: Settings
) -> None:
    assert (await inbox(client, settings))["manage_url"] is None
