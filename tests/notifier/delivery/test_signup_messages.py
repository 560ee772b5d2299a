"""A sign-up's one message: what a confirmation and an 'already subscribed' carry."""

from __future__ import annotations

import re
from datetime import timedelta

from notifier import links, signup
from notifier.db import utcnow
from notifier.delivery import signup_messages
from notifier.delivery.channels.base import personalise
from notifier.tables import Signup
from tests.conftest import make_settings

SETTINGS = make_settings("sqlite+aiosqlite://", "redis://unused")
SECRET = SETTINGS.secret_key.get_secret_value()
PUBLIC = "http://status.test"


def row(kind: str, customer_id: str | None = None, channel: str = "email") -> Signup:
    now = utcnow()
    return Signup(
        id="Z9y8X7w6V5u4",
        kind=kind,
        channel=channel,
        address="sam@example.com" if channel == "email" else "+819012345678",
        customer_id=customer_id,
        page=True,
        components=[],
        locale="en",
        time_zone="UTC",
        attempts=0,
        created_at=now,
        expires_at=now + timedelta(hours=48),
    )


def test_a_confirmation_carries_its_link_its_code_and_a_way_to_withdraw() -> None:
    content, recipient = signup_messages.compose(row(signup.CONFIRM), SETTINGS)

    assert f"{PUBLIC}/subscribe/confirm/" in content.text
    assert recipient.address == "sam@example.com"
    token = recipient.values["unsubscribe_url"].removeprefix(f"{PUBLIC}/unsubscribe/")
    assert links.verify(SECRET, "cancel-signup", token) == "Z9y8X7w6V5u4"
    assert "sam@example.com" not in recipient.values["unsubscribe_url"]


def test_a_texted_confirmation_carries_the_code() -> None:
    content, _recipient = signup_messages.compose(row(signup.CONFIRM, channel="sms"), SETTINGS)

    assert signup.code_for(SECRET, "Z9y8X7w6V5u4") in content.text


def test_an_address_already_subscribed_gets_its_manage_link_instead() -> None:
    content, recipient = signup_messages.compose(row(signup.ALREADY, "a1B2c3D4e5F6"), SETTINGS)

    assert f"{PUBLIC}/manage/" in content.text
    assert "/subscribe/confirm/" not in content.text
    token = recipient.values["unsubscribe_url"].removeprefix(f"{PUBLIC}/unsubscribe/")
    assert links.verify(SECRET, "unsubscribe", token) == "a1B2c3D4e5F6:email"


def test_the_email_wears_the_page_brand_with_a_button_and_nothing_left_unfilled() -> None:
    branded = make_settings("sqlite+aiosqlite://", "redis://unused", brand_color="#aa3300")
    for kind, customer, button in (
        (signup.CONFIRM, None, f"{PUBLIC}/subscribe/confirm/"),
        (signup.ALREADY, "a1B2c3D4e5F6", f"{PUBLIC}/manage/"),
    ):
        content, recipient = signup_messages.compose(row(kind, customer), branded)
        seen = personalise(content, recipient).html

        assert '<td class="header"' in seen  # the notification emails' layout
        assert "#aa3300" in seen  # the brand colour, inlined
        [link] = re.findall(r'<a class="button-link"[^>]* href="([^"]+)"', seen)
        assert link.startswith(button)
        assert recipient.values["unsubscribe_url"] in seen
        assert "%%" not in seen
