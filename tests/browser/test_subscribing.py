"""A visitor subscribes, confirms from the email, changes what they follow and leaves."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import select

from notifier.tables import Component, Consent, Customer, Signup, Subscription
from tests.browser.conftest import (
    LOOP,
    NewPage,
    Site,
    controls_are_named,
    headings_in_order,
    link_in,
    outbox_message,
    tab_to,
)

pytestmark = LOOP


async def components(site: Site, *names: str) -> dict[str, str]:
    ids = {}
    for name in names:
        ids[name] = (await site.api("POST", "/api/v1/components", {"name": name}))["id"]
    return ids


async def recorded(site: Site, email: str) -> tuple[str, set[str]]:
    """What the database holds for ``email``: its consent and the names it follows."""
    async with site.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.email == email))
        if customer is None:
            return "no customer", set()
        consent = await session.scalar(
            select(Consent).where(Consent.customer_id == customer.id, Consent.channel == "email")
        )
        follows = await session.scalars(
            select(Component.name)
            .join(Subscription, Subscription.component_id == Component.id)
            .where(Subscription.customer_id == customer.id)
        )
    if consent is None:
        state = "no consent"
    elif consent.revoked_at is not None:
        state = "revoked"
    else:
        state = f"confirmed by {consent.method}" if consent.confirmed_at else "unconfirmed"
    return state, set(follows)


async def pending_signups(site: Site) -> int:
    async with site.sessions() as session:
        return len((await session.scalars(select(Signup))).all())


async def check_accessible(page: Page) -> None:
    await headings_in_order(page)
    await controls_are_named(page)


async def test_a_visitor_subscribes_to_one_component_confirms_changes_it_and_unsubscribes(
    site: Site, new_page: NewPage
) -> None:
    await components(site, "API", "Dashboard")
    page = await new_page(locale="en-GB")
    email = "aiko.tanaka@example.com"

    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    # The button at the top of the page (the footer has the same link).
    await page.get_by_role("banner").get_by_role("link", name="Subscribe to updates").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to updates")
    await check_accessible(page)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Only these components:").check()
    await page.get_by_label("API", exact=True).check()
    await expect(page.get_by_role("combobox", name="Language")).to_have_value("en")
    await page.get_by_role("button", name="Subscribe").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Almost done")
    await expect(page.get_by_role("status")).to_contain_text("Check your inbox")
    await check_accessible(page)
    # Double opt-in: a pending sign-up, nobody subscribed yet.
    assert await pending_signups(site) == 1
    assert await recorded(site, email) == ("no customer", set())

    message = await outbox_message(page, email, "Confirm your subscription")
    assert "To confirm, open this link and press the button" in message
    await page.goto(link_in(message, site, "/subscribe/confirm/"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
    await check_accessible(page)
    # Opening the link (as a mail scanner would) confirms nothing.
    assert await recorded(site, email) == ("no customer", set())
    await page.get_by_role("button", name="Confirm my subscription").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    assert await recorded(site, email) == ("confirmed by double_opt_in", {"API"})
    assert await pending_signups(site) == 0

    await page.get_by_role("link", name="Manage your subscription").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    await check_accessible(page)
    following = page.get_by_role("region", name="You follow")
    await expect(following.get_by_role("listitem")).to_have_text([re.compile(r"^\s*API")])
    await expect(page.get_by_role("checkbox", name=re.compile(r"^Email: "))).to_be_checked()
    await page.get_by_label("API", exact=True).uncheck()
    await page.get_by_label("Dashboard", exact=True).check()
    await page.get_by_role("button", name="Save").click()

    await expect(page.get_by_role("status")).to_have_text("Your settings are saved.")
    await expect(following.get_by_role("listitem")).to_have_text([re.compile(r"^\s*Dashboard")])
    await expect(page.get_by_label("Dashboard", exact=True)).to_be_checked()
    await expect(page.get_by_label("API", exact=True)).not_to_be_checked()
    assert await recorded(site, email) == ("confirmed by double_opt_in", {"Dashboard"})

    await page.get_by_role("button", name="Unsubscribe from everything").click()
    await expect(page.get_by_role("status")).to_have_text(
        "You are unsubscribed from everything. We will not send you status updates any more."
    )
    await expect(following).to_have_count(0)
    assert await recorded(site, email) == ("revoked", set())


async def test_a_japanese_visitor_gets_every_page_and_the_email_in_japanese(
    site: Site, new_page: NewPage, artifacts: Path
) -> None:
    await components(site, "API", "管理画面")
    # The browser asks for Japanese (Accept-Language: ja-JP); no ?lang needed.
    page = await new_page(locale="ja-JP", timezone_id="Asia/Tokyo")
    email = "tanaka@example.jp"

    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "ja")
    await page.get_by_role("banner").get_by_role("link", name="更新情報の配信登録").click()

    await expect(page.locator("html")).to_have_attribute("lang", "ja")
    await expect(page.get_by_role("heading", level=1)).to_have_text("更新情報の配信登録")
    await check_accessible(page)
    await page.get_by_label("メールアドレス").fill(email)
    await page.get_by_label("次のコンポーネントのみ:").check()
    await page.get_by_label("管理画面", exact=True).check()
    # The language of the messages follows the page's.
    await expect(page.get_by_role("combobox", name="言語")).to_have_value("ja")
    await page.screenshot(path=artifacts / "subscribe-ja.png", full_page=True)
    await page.get_by_role("button", name="登録する").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("あと少しで完了です")
    await expect(page.get_by_role("status")).to_contain_text("受信箱をご確認ください。")
    await expect(page.locator("html")).to_have_attribute("lang", "ja")

    message = await outbox_message(page, email, "配信登録の確認")
    assert "次のリンクを開き、ボタンを押して登録を完了してください。" in message
    await page.goto(link_in(message, site, "/subscribe/confirm/"))
    await expect(page.locator("html")).to_have_attribute("lang", "ja")
    await expect(page.get_by_role("heading", level=1)).to_have_text("配信登録の確認")
    await page.get_by_role("button", name="配信登録を完了する").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("配信登録が完了しました")
    assert await recorded(site, email) == ("confirmed by double_opt_in", {"管理画面"})
    async with site.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.email == email))
    assert customer is not None
    assert customer.locale == "ja"

    await page.get_by_role("link", name="配信設定の変更").click()
    await expect(page.locator("html")).to_have_attribute("lang", "ja")
    await expect(page.get_by_role("heading", level=1)).to_have_text("配信設定")
    await check_accessible(page)
    await page.get_by_label("API", exact=True).check()
    await page.get_by_role("button", name="保存する").click()

    await expect(page.get_by_role("status")).to_have_text("設定を保存しました。")
    assert await recorded(site, email) == ("confirmed by double_opt_in", {"API", "管理画面"})

    await page.get_by_role("button", name="すべての配信を停止する").click()
    await expect(page.get_by_role("status")).to_have_text(
        "すべての配信を停止しました。今後、お知らせはお送りしません。"
    )
    await expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert await recorded(site, email) == ("revoked", set())


async def test_a_keyboard_user_subscribes_without_a_mouse(site: Site, new_page: NewPage) -> None:
    await components(site, "API", "Dashboard")
    page = await new_page()
    email = "keys@example.com"
    await page.goto("/subscribe")

    await tab_to(page, page.get_by_label("Email address"))
    await page.keyboard.type(email)
    # A radio group is one Tab stop; the arrow keys choose within it.
    await tab_to(page, page.get_by_label("Everything on this page"))
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_label("Only these components:")).to_be_checked()
    await tab_to(page, page.get_by_label("Dashboard", exact=True))
    await page.keyboard.press("Space")
    await expect(page.get_by_label("Dashboard", exact=True)).to_be_checked()
    await tab_to(page, page.get_by_role("button", name="Subscribe"))
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", level=1)).to_have_text("Almost done")
    message = await outbox_message(page, email, "Confirm your subscription")
    await page.goto(link_in(message, site, "/subscribe/confirm/"))
    await tab_to(page, page.get_by_role("button", name="Confirm my subscription"))
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    assert await recorded(site, email) == ("confirmed by double_opt_in", {"Dashboard"})


async def subscribe_and_confirm(page: Page, site: Site, email: str, component: str) -> None:
    await page.goto("/subscribe")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Only these components:").check()
    await page.get_by_label(component, exact=True).check()
    await page.get_by_role("button", name="Subscribe").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Almost done")
    message = await outbox_message(page, email, "Confirm your subscription")
    await page.goto(link_in(message, site, "/subscribe/confirm/"))
    await page.get_by_role("button", name="Confirm my subscription").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")


async def test_a_subscriber_is_told_of_an_incident_and_leaves_from_the_email_link(
    site: Site, new_page: NewPage
) -> None:
    ids = await components(site, "API", "Dashboard")
    page = await new_page()
    email = "ops.reader@example.com"
    await subscribe_and_confirm(page, site, email, "API")

    await site.api(
        "POST",
        "/api/v1/incidents",
        {
            "title": "API errors",
            "body": "Some calls fail.",
            "components": [{"component_id": ids["API"], "status": "partial_outage"}],
        },
    )
    message = await outbox_message(page, email, "API errors: Investigating")
    assert "Some calls fail." in message

    # The manage link in every message opens their settings.
    await page.goto(link_in(message, site, "/manage/"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    following = page.get_by_role("region", name="You follow")
    await expect(following.get_by_role("listitem")).to_have_text([re.compile(r"^\s*API")])

    # The unsubscribe link asks first (mail scanners open links), then stops the email.
    await page.goto(link_in(message, site, "/unsubscribe/"))
    await check_accessible(page)
    assert await recorded(site, email) == ("confirmed by double_opt_in", {"API"})
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.get_by_role("status")).to_have_text(
        "You are unsubscribed. You will not get these notifications on this channel any more."
    )
    assert (await recorded(site, email))[0] == "revoked"


async def test_a_mistyped_address_is_named_next_to_its_field_and_nothing_is_stored(
    site: Site, new_page: NewPage
) -> None:
    await components(site, "API", "Dashboard")
    page = await new_page()
    await page.goto("/subscribe")
    await page.get_by_label("Email address").fill("aiko.example.com")
    await page.get_by_label("Only these components:").check()
    await page.get_by_role("button", name="Subscribe").click()

    summary = page.get_by_role("alert")
    await expect(summary.get_by_role("heading")).to_have_text("Please check this:")
    await expect(summary.get_by_role("listitem")).to_have_text(
        [
            "Email address: Enter an email address like name@example.com.",
            "What to hear about: Choose at least one component, or the whole page.",
        ]
    )
    field = page.get_by_label("Email address")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_accessible_description(re.compile("Enter an email address"))
    # What was typed and chosen is kept, to correct rather than retype.
    await expect(field).to_have_value("aiko.example.com")
    await expect(page.get_by_label("Only these components:")).to_be_checked()
    await check_accessible(page)
    assert await pending_signups(site) == 0

    await summary.get_by_role("link", name="Email address").click()
    await expect(page).to_have_url(re.compile("#email$"))
    await field.fill("aiko@example.com")
    await page.get_by_label("API", exact=True).check()
    await page.get_by_role("button", name="Subscribe").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Almost done")
    assert await pending_signups(site) == 1


async def test_a_subscriber_sets_their_name_only_unresolved_and_channel_order_by_keyboard(
    site: Site, new_page: NewPage
) -> None:
    await components(site, "API")
    page = await new_page()
    email = "kenji.mori@example.com"
    await subscribe_and_confirm(page, site, email, "API")
    async with site.sessions() as session, session.begin():
        customer = await session.scalar(select(Customer).where(Customer.email == email))
        assert customer is not None
        customer.phone = "+819012345678"  # known from the business's records
        external_id = customer.external_id
    await page.get_by_role("link", name="Manage your subscription").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    await check_accessible(page)

    # A radio group is one Tab stop; the arrow keys move within it.
    await tab_to(page, page.get_by_label("All at once, on every channel that is on"))
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_label("One after another, in this order:")).to_be_checked()
    await tab_to(page, page.get_by_label("Channel 1"))
    await page.get_by_label("Channel 1").select_option(label="Text message (SMS)")
    await tab_to(page, page.get_by_label("Channel 2"))
    await page.get_by_label("Channel 2").select_option(label="Email")
    await tab_to(page, page.get_by_label("Given name"))
    await page.keyboard.type("Kenji")
    await tab_to(page, page.get_by_label("Family name"))
    await page.keyboard.type("Mori")
    await tab_to(page, page.get_by_label("Only tell me while a problem is going on"))
    await page.keyboard.press("Space")
    await tab_to(page, page.get_by_role("button", name="Save"))
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("status")).to_have_text("Your settings are saved.")
    await page.reload()
    await expect(page.get_by_label("Given name")).to_have_value("Kenji")
    await expect(page.get_by_label("Family name")).to_have_value("Mori")
    await expect(page.get_by_label("Only tell me while a problem is going on")).to_be_checked()
    await expect(page.get_by_label("One after another, in this order:")).to_be_checked()
    await expect(page.get_by_label("Channel 1")).to_have_value("sms")
    await expect(page.get_by_label("Channel 2")).to_have_value("email")
    shown = await site.api("GET", f"/api/v1/customers/{external_id}")
    assert (shown["given_name"], shown["family_name"], shown["only_unresolved"]) == (
        "Kenji",
        "Mori",
        True,
    )
    assert shown["channel_order"] == ["sms", "email"]

    # The same choice twice is named next to the field, and nothing changes.
    await page.get_by_label("Channel 2").select_option(label="Text message (SMS)")
    await page.get_by_role("button", name="Save").click()
    summary = page.get_by_role("alert")
    await expect(summary.get_by_role("listitem")).to_have_text(
        ["Order of channels: Choose each channel once."]
    )
    await check_accessible(page)
    assert (await site.api("GET", f"/api/v1/customers/{external_id}"))["channel_order"] == [
        "sms",
        "email",
    ]
