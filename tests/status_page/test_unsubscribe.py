"""``/unsubscribe/{token}``, the link in every email and its RFC 8058 one-click POST
(``status_page/unsubscribe.py``): opening it asks first, posting it withdraws consent
for that one channel, and a confirmation mail's link withdraws the pending sign-up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from notifier.delivery import signup_messages
from notifier.tables import Consent, Customer, Signup
from tests.conftest import Client
from tests.notifier.delivery.test_sending import run_worker
from tests.status_page.pages import text_of
from tests.status_page.signups import PUBLIC, sign_up

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]
EMAIL = "Aiko.Tanaka@Example.com"


async def signups(sessions: Sessions) -> list[Signup]:
    async with sessions() as session:
        return list((await session.scalars(select(Signup))).all())


async def consented(sessions: Sessions) -> dict[str, bool]:
    """Channel: whether consent stands, for every consent row."""
    async with sessions() as session:
        return {
            c.channel: c.confirmed_at is not None and c.revoked_at is None
            for c in await session.scalars(select(Consent))
        }


async def leaver(client: Client, admin: Headers, sessions: Sessions) -> str:
    """A customer who consented to email and SMS; their id."""
    response = await client.put(
        "/api/v1/customers/leaver",
        json={
            "email": "leaver@example.com",
            "phone": "+81 90 1111 2222",
            "consent": {"channels": ["email", "sms"], "legal_basis": "contract"},
            "follows": {"page": True},
        },
        headers=admin,
    )
    assert response.status == 201, await response.text()
    async with sessions() as session:
        person = await session.scalar(select(Customer))
    assert person is not None
    ident: str = person.id
    return ident


def unsubscribe_link(secret: str, customer_id: str) -> str:
    """The path of a customer's email unsubscribe link, signed with ``secret``."""
    return "/unsubscribe/" + links.sign(secret, "unsubscribe", f"{customer_id}:email")


async def test_opening_the_link_asks_first_and_the_post_stops_only_that_channel(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    customer_id = await leaver(client, admin, sessions)
    path = unsubscribe_link(settings.secret_key.get_secret_value(), customer_id)

    opened = await client.get(path)

    # Mail scanners open links: a GET changes nothing.
    assert opened.status == 200
    assert "Stop receiving these notifications on this channel?" in await opened.text()
    assert opened.headers["Cache-Control"] == "no-store"
    assert await consented(sessions) == {"email": True, "sms": True}

    posted = await client.post(path, data={"List-Unsubscribe": "One-Click"})

    assert posted.status == 200
    assert "You are unsubscribed." in await posted.text()
    assert await consented(sessions) == {"email": False, "sms": True}


async def test_a_link_that_is_not_valid_is_a_404_page_and_changes_nothing(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    customer_id = await leaver(client, admin, sessions)
    path = unsubscribe_link(settings.secret_key.get_secret_value(), customer_id)
    forged = unsubscribe_link("another-secret", customer_id)

    for bad in ("/unsubscribe/nonsense", path[:-2], forged):
        opened = await client.get(bad)
        posted = await client.post(bad, data={"List-Unsubscribe": "One-Click"})
        assert opened.status == posted.status == 404, bad
        assert "This link is not valid." in await posted.text()
    assert await consented(sessions) == {"email": True, "sms": True}


async def test_a_confirmation_mail_one_click_unsubscribe_withdraws_the_sign_up(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    await sign_up(client, email=EMAIL)
    await run_worker(settings)
    async with sessions() as session:
        row = await session.scalar(select(Signup))
    assert row is not None
    _content, recipient = signup_messages.compose(row, settings)
    path = recipient.values["unsubscribe_url"].removeprefix(PUBLIC)

    response = await client.post(path, data={"List-Unsubscribe": "One-Click"})

    assert response.status == 200
    assert await signups(sessions) == []
    assert links.verify("another-secret", "cancel-signup", path.rsplit("/", 1)[1]) is None


async def test_after_unsubscribing_the_page_says_it_is_done_and_offers_to_subscribe_again(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    customer_id = await leaver(client, admin, sessions)
    path = unsubscribe_link(settings.secret_key.get_secret_value(), customer_id)

    english = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    japanese = await client.post(path + "?lang=ja", data={"List-Unsubscribe": "One-Click"})

    page = await english.text()
    assert "<h1>You are unsubscribed</h1>" in page
    assert "Changed your mind? You can subscribe again at any time." in text_of(page)
    assert '<a class="button" href="/subscribe">Subscribe again</a>' in page
    assert "<button" not in page  # nothing left to unsubscribe from here
    ja = await japanese.text()
    assert "<h1>配信を停止しました</h1>" in ja
    assert '<a class="button" href="/subscribe">もう一度登録する</a>' in ja
