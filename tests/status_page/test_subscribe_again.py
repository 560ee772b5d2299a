"""Coming back: someone who unsubscribed signs up again and is told again."""

from __future__ import annotations

from config import Settings
from tests.conftest import Client
from tests.notifier.delivery.test_sending import post_incident, run_worker
from tests.status_page.signups import csrf_token, link, outbox, sign_up

Headers = dict[str, str]


async def confirm(client: Client, message: dict[str, str]) -> str:
    """Confirm by the message's link; returns the path of the manage link shown."""
    path = link(message["body"], "/subscribe/confirm/")
    done = await client.post(path, data={"csrf_token": await csrf_token(client, path)})
    text = await done.text()
    assert done.status == 200, text
    start = text.index('href="/manage/') + len('href="')
    return text[start : text.index('"', start)]


async def test_after_unsubscribing_a_new_sign_up_is_confirmed_and_told_again(
    client: Client, admin: Headers, settings: Settings
) -> None:
    await sign_up(client, email="sam@example.com")
    await run_worker(settings)
    manage = await confirm(client, (await outbox(client))[-1])
    response = await client.post(
        manage + "/unsubscribe", data={"csrf_token": await csrf_token(client, manage)}
    )
    assert response.status == 200

    await sign_up(client, email="sam@example.com")
    await run_worker(settings)
    again = (await outbox(client))[-1]
    # Not "you are already subscribed": they are not, and would never hear again.
    assert "Confirm your subscription" in again["subject"]
    await confirm(client, again)
    await post_incident(client, admin, "Checkout errors")
    await run_worker(settings)

    latest = (await outbox(client))[-1]
    assert (latest["to"], latest["subject"]) == (
        "sam@example.com",
        "[Test status] Checkout errors: Investigating",
    )
