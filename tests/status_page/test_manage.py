"""Managing a subscription through the signed link in every message."""

from __future__ import annotations

import re
import time as clock
from datetime import time
from typing import Any

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier import links
from notifier.tables import Consent, Customer, Signup, Subscription
from tests.conftest import Client
from tests.notifier.delivery.test_sending import post_incident, run_worker
from tests.status_page.signups import csrf_token, form, link, outbox, sign_up

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]


async def new_component(client: Client, admin: Headers, name: str) -> str:
    response = await client.post("/api/v1/components", json={"name": name}, headers=admin)
    assert response.status == 201
    ident: str = (await response.json())["id"]
    return ident


async def subscribed(client: Client, settings: Settings, **fields: Any) -> str:
    """Sign up by email and confirm; returns the path of the manage link they get."""
    await sign_up(client, email="sam@example.com", **fields)
    await run_worker(settings)
    [message] = await outbox(client)
    path = link(message["body"], "/subscribe/confirm/")
    done = await client.post(path, data={"csrf_token": await csrf_token(client, path)})
    text = await done.text()
    start = text.index('href="/manage/') + len('href="')
    return text[start : text.index('"', start)]


async def customer(sessions: Sessions) -> tuple[Customer, dict[str, bool], list[str | None]]:
    async with sessions() as session:
        found = await session.scalar(select(Customer))
        assert found is not None
        consent = {
            c.channel: c.confirmed_at is not None and c.revoked_at is None
            for c in await session.scalars(select(Consent))
        }
        follows = sorted(
            (await session.scalars(select(Subscription.component_id))).all(),
            key=lambda c: c or "",
        )
    return found, consent, follows


async def save(client: Client, path: str, **fields: Any) -> Any:
    values: dict[str, Any] = {"channels": ["email"], "quiet_start": "", "quiet_end": "", **fields}
    return await client.post(path, data=form(await csrf_token(client, path), values))


async def test_a_subscriber_changes_components_language_time_zone_and_quiet_hours(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    web = await new_component(client, admin, "Website")
    path = await subscribed(client, settings)
    page = await client.get(path)
    assert page.status == 200
    assert "sa…@example.com" in await page.text()

    response = await save(
        client,
        path,
        scope="components",
        components=[api, web],
        locale="ja",
        time_zone="America/New_York",
        quiet_start="22:00",
        quiet_end="07:30",
    )

    assert response.status == 200
    # Saved, and told so in the language just chosen.
    assert "設定を保存しました。" in await response.text()
    person, consent, follows = await customer(sessions)
    assert (person.locale, person.time_zone) == ("ja", "America/New_York")
    assert (person.quiet_hours_start, person.quiet_hours_end) == (time(22, 0), time(7, 30))
    assert consent == {"email": True}
    assert follows == sorted([api, web])

    await save(client, path, scope="page", locale="en", time_zone="Asia/Tokyo")
    person, _consent, follows = await customer(sessions)
    assert (person.quiet_hours_start, person.quiet_hours_end) == (None, None)
    assert follows == [None]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"time_zone": "Nowhere/Else"}, "time_zone"),
        ({"quiet_start": "22:00"}, "quiet_hours"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_hours"),
        ({"scope": "components"}, "components"),
    ],
)
async def test_a_bad_value_gets_422_naming_the_field_and_changes_nothing(
    client: Client, settings: Settings, sessions: Sessions, fields: dict[str, Any], field: str
) -> None:
    path = await subscribed(client, settings)
    before = await customer(sessions)

    response = await save(client, path, locale="ja", **fields)

    assert response.status == 422
    assert f'id="{field}-error"' in await response.text()
    after = await customer(sessions)
    assert (after[0].locale, after[0].time_zone, after[1], after[2]) == (
        before[0].locale,
        before[0].time_zone,
        before[1],
        before[2],
    )


async def test_a_subscriber_stops_following_one_component(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    api = await new_component(client, admin, "API")
    web = await new_component(client, admin, "Website")
    path = await subscribed(client, settings, scope="components", components=[api, web])
    page = await (await client.get(path)).text()
    assert "Stop following Website" in page

    response = await client.post(
        path + "/unfollow", data={"csrf_token": await csrf_token(client, path), "component": web}
    )

    assert response.status == 200
    assert "Stop following Website" not in await response.text()
    assert (await customer(sessions))[2] == [api]


async def test_unsubscribing_from_everything_stops_every_message(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    path = await subscribed(client, settings)

    response = await client.post(
        path + "/unsubscribe", data={"csrf_token": await csrf_token(client, path)}
    )

    assert response.status == 200
    page = await response.text()
    assert "unsubscribed from everything" in page
    # Done: no second "unsubscribe", and the way back instead.
    assert "Unsubscribe from everything" not in page
    assert '<a class="button" href="/subscribe">Subscribe again</a>' in page
    _person, consent, follows = await customer(sessions)
    assert (consent, follows) == ({"email": False}, [])
    sent = len(await outbox(client))
    await post_incident(client, admin)
    await run_worker(settings)
    assert len(await outbox(client)) == sent


async def test_turning_email_off_and_on_again_through_its_own_link(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    path = await subscribed(client, settings)

    await save(client, path, channels=[], locale="en", time_zone="UTC")
    assert (await customer(sessions))[1] == {"email": False}
    await save(client, path, channels=["email"], locale="en", time_zone="UTC")
    assert (await customer(sessions))[1] == {"email": True}


async def test_turning_on_another_channel_sends_a_confirmation_first(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    await sign_up(client, channel="sms", phone="+81 90 1234 5678")
    await run_worker(settings)
    token = await csrf_token(client)
    code = re.findall(r"\d{6}", (await outbox(client))[0]["body"])[0]
    await client.post("/subscribe/verify", data={"csrf_token": token, "code": code})
    async with sessions() as session:
        person = await session.scalar(select(Customer))
        assert person is not None
        person_id = person.id
    async with sessions() as session, session.begin():
        person = await session.get(Customer, person_id)
        assert person is not None
        person.email = "sam@example.com"  # known from elsewhere, never confirmed
    secret = settings.secret_key.get_secret_value()
    path = "/manage/" + links.manage_token(secret, person_id, "sms")

    response = await save(client, path, channels=["sms", "email"], time_zone="UTC")

    assert response.status == 200
    assert "We sent a confirmation" in await response.text()
    assert (await customer(sessions))[1] == {"sms": True}
    await run_worker(settings)
    confirmation = (await outbox(client, "email"))[0]
    assert confirmation["to"] == "sam@example.com"
    confirm = link(confirmation["body"], "/subscribe/confirm/")
    await client.post(confirm, data={"csrf_token": await csrf_token(client, confirm)})
    assert (await customer(sessions))[1] == {"sms": True, "email": True}
    async with sessions() as session:
        assert (await session.scalars(select(Signup))).all() == []


@pytest.mark.parametrize("kind", ["tampered", "expired", "other purpose"])
async def test_a_bad_manage_link_gets_a_friendly_page_and_changes_nothing(
    client: Client, settings: Settings, sessions: Sessions, kind: str
) -> None:
    path = await subscribed(client, settings)
    secret = settings.secret_key.get_secret_value()
    person, consent, _follows = await customer(sessions)
    if kind == "tampered":
        bad = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    elif kind == "expired":

        class Past(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.time()) - 91 * 86400

        signed_long_ago = Past(secret, salt="forewarn:manage")
        token = signed_long_ago.sign(f"{person.id}:email").decode()
        # Genuine, only too old for the 90 days links live.
        assert links.loads(secret, "manage", token, max_age=92 * 86400) == f"{person.id}:email"
        bad = "/manage/" + token
    else:
        bad = "/manage/" + links.dumps(secret, "confirm", f"{person.id}:email")

    page = await client.get(bad)
    posted = await client.post(bad + "/unsubscribe", data={"csrf_token": await csrf_token(client)})

    assert page.status == posted.status == 404
    assert "Sign up again with the same address" in await page.text()
    assert (await customer(sessions))[1] == consent


async def test_manage_forms_need_the_csrf_token(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    path = await subscribed(client, settings)

    response = await client.post(path + "/unsubscribe", data={})

    assert response.status == 403
    assert (await customer(sessions))[1] == {"email": True}


async def test_the_manage_link_in_an_incident_email_opens_their_page(
    client: Client, admin: Headers, settings: Settings
) -> None:
    await subscribed(client, settings)
    await post_incident(client, admin)
    await run_worker(settings)
    *_, incident = await outbox(client)

    page = await client.get(link(incident["body"], "/manage/"))
    html_page = await client.get(link(incident["html"], "/manage/"))

    assert page.status == html_page.status == 200
    assert "Your subscription" in await page.text()
    # The one-click unsubscribe of the same email still works.
    unsubscribe = link(incident["body"], "/unsubscribe/")
    assert (await client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})).status == 200


async def test_pages_reached_from_a_message_speak_the_subscribers_language(
    client: Client, admin: Headers, settings: Settings
) -> None:
    manage = await subscribed(client, settings, locale="ja")
    await post_incident(client, admin)
    await run_worker(settings)
    *_, incident = await outbox(client)
    unsubscribe = link(incident["body"], "/unsubscribe/")
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    client.session.cookie_jar.clear_domain("127.0.0.1")

    for path in (manage, unsubscribe):
        page = await client.get(path, headers=english_browser)
        assert page.headers["Content-Language"] == "ja", path
        assert '<html lang="ja">' in await page.text()
    done = await client.post(unsubscribe, headers=english_browser)
    assert "配信を停止しました" in await done.text()
    # The visitor's own choice still wins.
    chosen = await client.get(unsubscribe + "?lang=en")
    assert "Stop receiving these notifications" in await chosen.text()


# Names, "only while a problem lasts" and the channel order (issue 12)


async def with_a_phone_too(client: Client, settings: Settings, sessions: Sessions) -> str:
    """An email subscriber whose number is known too (from the business's records);
    returns their manage path."""
    path = await subscribed(client, settings)
    async with sessions() as session, session.begin():
        person = await session.scalar(select(Customer))
        assert person is not None
        person.phone = "+819012345678"
    return path


async def through_the_api(client: Client, admin: Headers, sessions: Sessions) -> dict[str, Any]:
    """The customer as the ops API shows them."""
    external_id = (await customer(sessions))[0].external_id
    response = await client.get(f"/api/v1/customers/{external_id}", headers=admin)
    assert response.status == 200
    shown: dict[str, Any] = await response.json()
    return shown


def care(shown: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        shown[k] for k in ("given_name", "family_name", "only_unresolved", "channel_order")
    )


async def test_a_subscriber_edits_their_names_only_unresolved_and_channel_order(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    path = await with_a_phone_too(client, settings, sessions)
    page = await (await client.get(path)).text()
    for field in ('name="given_name"', 'name="family_name"', 'name="only_unresolved"'):
        assert field in page
    # One choice per channel they have an address for, and "all at once" as it is now.
    assert page.count('<select name="channel_order">') == 2
    assert '<option value="sms">Text message (SMS)</option>' in page
    assert '<option value="inapp">' not in page
    assert re.search(r'value="all" checked>\s*All at once', page)

    response = await save(
        client,
        path,
        given_name=" Taro ",
        family_name="Yamada",
        only_unresolved="1",
        order="ordered",
        channel_order=["sms", "email"],
    )

    assert response.status == 200
    saved = await response.text()
    assert "Your settings are saved." in saved
    assert care(await through_the_api(client, admin, sessions)) == (
        "Taro",
        "Yamada",
        True,
        ["sms", "email"],
    )
    # The page shows what was saved.
    again = await (await client.get(path)).text()
    assert 'value="Taro"' in again
    assert 'value="Yamada"' in again
    assert re.search(r'name="only_unresolved" value="1" checked', again)
    assert re.search(r'value="ordered" checked>', again)
    selected = re.findall(r'<option value="(\w+)" selected>', again)
    assert selected[-2:] == ["sms", "email"]

    # Emptied and back to all at once.
    await save(client, path, given_name="", family_name="", order="all")
    assert care(await through_the_api(client, admin, sessions)) == (None, None, False, None)


async def test_an_order_may_leave_a_channel_out(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    path = await with_a_phone_too(client, settings, sessions)

    response = await save(client, path, order="ordered", channel_order=["", "email"])

    assert response.status == 200
    assert care(await through_the_api(client, admin, sessions))[3] == ["email"]


async def test_the_manage_page_asks_for_names_and_order_in_japanese(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    path = await with_a_phone_too(client, settings, sessions)
    await save(client, path, locale="ja")

    page = await (await client.get(path)).text()

    for text in (
        "連絡方法の順番",
        "1 番目の連絡方法",
        "問題が続いている間だけ知らせる",
    ):
        assert text in page
    # Japanese names are asked family name first.
    assert page.index('name="family_name"') < page.index('name="given_name"')


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"order": "ordered", "channel_order": ["webhook"]}, "channel_order"),
        ({"order": "ordered", "channel_order": ["inapp"]}, "channel_order"),
        ({"order": "ordered", "channel_order": ["email", "email"]}, "channel_order"),
        ({"order": "ordered", "channel_order": ["", ""]}, "channel_order"),
        ({"order": "sideways", "channel_order": ["email"]}, "channel_order"),
        ({"given_name": "T" * 201}, "given_name"),
        ({"family_name": "Yama\nda"}, "family_name"),
        ({"given_name": "Ta\tro"}, "given_name"),
    ],
)
async def test_a_bad_name_or_order_gets_422_naming_the_field_and_changes_nothing(
    client: Client,
    admin: Headers,
    settings: Settings,
    sessions: Sessions,
    fields: dict[str, Any],
    field: str,
) -> None:
    path = await with_a_phone_too(client, settings, sessions)
    await save(client, path, given_name="Sam", order="ordered", channel_order=["email", "sms"])
    before = await through_the_api(client, admin, sessions)

    response = await save(
        client, path, **({"given_name": "Changed", "only_unresolved": "1"} | fields)
    )

    assert response.status == 422
    page = await response.text()
    assert f'id="{field}-error"' in page
    assert f'href="#{field}"' in page  # the summary leads to the field
    assert await through_the_api(client, admin, sessions) == before


async def test_the_error_on_a_bad_order_is_in_japanese_for_a_japanese_subscriber(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    path = await with_a_phone_too(client, settings, sessions)
    await save(client, path, locale="ja")

    response = await save(
        client, path, locale="ja", order="ordered", channel_order=["email", "email"]
    )

    assert response.status == 422
    assert "同じ連絡方法は1回だけ選んでください。" in await response.text()


async def test_a_control_character_in_a_name_is_refused_and_changes_nothing(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    path = await subscribed(client, settings)
    before = await through_the_api(client, admin, sessions)

    response = await save(client, path, given_name="Sam\x00")

    assert response.status == 400
    assert "We could not read what was sent" in await response.text()
    assert await through_the_api(client, admin, sessions) == before
