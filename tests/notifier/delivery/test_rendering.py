"""Message text per event, channel and locale, from the templates in notifier/delivery/templates."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import pytest

from notifier import markdown, questions
from notifier.delivery import messages, rendering, template_samples
from notifier.delivery.channels.base import Content, Recipient, personalise
from notifier.events import Event

CHANNELS = ("email", "sms", "inapp")
LOCALES = ("en", "ja")


# The events that tell news of a subject (its update's body, its page): not the prompts.
NEWS = [event for event in rendering.EVENTS if not event.asks_rating]


def context(event: str, locale: str, **overrides: Any) -> dict[str, Any]:
    """What ``messages.context()`` builds for a notification, with realistic values."""
    ja = locale == "ja"
    base: dict[str, Any] = {
        "page_name": "テスト株式会社" if ja else "Example Shop",
        "url": "http://status.test/",
        # Not configured: the layout's own colour, no logo.
        "brand_color": None,
        "brand_logo_url": None,
        "company_url": None,
    }
    subject = Event(event).subject if event in Event.__members__ else "incident"
    if subject == "problem":
        body = (
            "配送業者の遅延により、ご注文の商品のお届けが遅れております。"
            if ja
            else "Your parcel is delayed at the carrier's depot by the storm."
        )
        values = {
            **base,
            "reference": "ORD-12345",
            "title": "配送の遅延" if ja else "Parcel delayed",
            "body": body,
            "body_short": messages.shorten(body),
            "kind": "delayed",
            "status": "resolved" if event == Event.problem_resolved else "open",
            "eta": "11月25日 12:00 JST" if ja else "Nov 25, 12:00 UTC",
        }
    else:
        status = "in_progress" if subject == "maintenance" else "identified"
        body = (
            "一部のお客様で決済が完了しない事象が発生しています。原因を特定し、対応中です。"
            if ja
            else "Some card payments fail at checkout. We found the cause and are fixing it."
        )
        values = {
            **base,
            "title": "決済エラーの発生" if ja else "Checkout errors",
            "status": status,
            "body": body,
            "body_short": messages.shorten(body),
            "components": ["決済", "API"] if ja else ["Checkout", "API"],
            "next_update_by": "11月23日 15:30 JST" if ja else "Nov 23, 15:30 UTC",
        }
        if subject == "maintenance":
            values["window"] = "12月20日 10:00〜12:00 JST" if ja else "Dec 20, 10:00-12:00 UTC"
    if Event(event).asks_rating if event in Event.__members__ else False:
        values |= {"scale": "csat"} | questions.asked("csat", locale)
    values.update(overrides)
    labels = messages.PROBLEM_STATUS_LABELS if subject == "problem" else messages.STATUS_LABELS
    values.setdefault("status_label", labels[locale][values["status"]])
    return values


def unstyled(html: str) -> str:
    """``html`` without the ``style`` attributes that inlining the layout's CSS added."""
    return re.sub(r' style="[^"]*"', "", html)


def recipient(
    locale: str, name: str | None, unsubscribe_url: str, family: str | None = None
) -> Recipient:
    return Recipient(
        delivery_id=1,
        address="sam@example.com",
        values={
            "greeting": messages.greeting(locale, name, family),
            "unsubscribe_url": unsubscribe_url,
            "manage_url": "http://status.test/manage/tok",
            "url": "http://status.test/",
        },
    )


def test_the_test_context_has_exactly_each_events_variables() -> None:
    for event in Event:
        assert set(context(event, "en")) == messages.VARIABLES[event], event


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("event", rendering.EVENTS)
def test_every_event_renders_on_every_channel_in_every_locale(
    event: Event, channel: str, locale: str
) -> None:
    # Exactly the variables messages.VARIABLES promises: with StrictUndefined, a template
    # using any other fails here.
    values = context(event, locale)

    content = rendering.render(event, channel, locale, values)

    parts = [content.subject, content.text, content.html]
    assert not any("{{" in p or "{%" in p or "}}" in p for p in parts)
    assert content.text
    assert "%%greeting%%" in content.text
    if channel == "sms":
        assert content.subject == ""
        assert content.html == ""
    else:
        assert values["page_name"] in content.subject
    if channel == "email":
        assert content.html.lower().startswith("<!doctype html>")
        assert f'<html lang="{locale}">' in content.html
        assert "<p>%%greeting_html%%</p>" in unstyled(content.html)
    else:
        assert content.html == ""
    if event.asks_rating:
        # The question; by email one score link per score, by SMS "reply 1-5".
        assert values["question"] in content.text
        links = [f"%%rating_url_{n}%%" in content.text for n in range(11)]
        assert links == [channel == "email" and 1 <= n <= 5 for n in range(11)]
        if channel == "email":
            assert all(f"%%rating_url_{n}_html%%" in content.html for n in range(1, 6))
        elif channel == "sms":
            assert "Reply 1-5" in content.text or "1〜5の数字でご返信ください" in content.text
        else:  # in-app: the inbox shows score buttons, there is nothing to reply to
            assert (
                "Choose a score from 1" in content.text or "1〜5からお選びください" in content.text
            )
            assert "eply" not in content.text
            assert "返信" not in content.text
    elif event.subject == "problem":
        assert values["reference"] in content.subject + content.text
        assert (values["eta"] in content.text) != event.closes
    else:
        assert values["title"] in content.text
        assert values["url"] in content.text
        promises = not event.closes and event != Event.maintenance_reminder
        if channel != "sms" or event.subject == "incident":
            assert (values["next_update_by"] in content.text) == promises
    if event.subject == "maintenance" and event not in (
        Event.maintenance_completed,
        Event.maintenance_rating,
    ):
        assert values["window"] in content.subject + content.text


def test_a_template_using_a_variable_the_context_lacks_fails() -> None:
    values = context(Event.incident_created, "en")
    del values["next_update_by"]

    with pytest.raises(jinja2.UndefinedError):
        rendering.render(Event.incident_created, "email", "en", values)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", [*rendering.EVENTS, "signup_confirm", "signup_already"])
def test_a_subject_is_one_line_whatever_the_values_hold(event: str, locale: str) -> None:
    hostile = "x\r\nBcc: someone@example.test\t\x0b\u2028"
    values = {
        k: f"{v}{hostile}" if isinstance(v, str) else v for k, v in context(event, locale).items()
    }
    values.update(
        code="123456",
        hours="48",
        confirm_url="http://status.test/c",
        manage_url="http://status.test/m",
    )
    someone = recipient(locale, "Sam\r\nBcc: x@example.test", "http://status.test/u")

    for channel in ("email", "inapp"):
        content = rendering.render(event, channel, locale, values)
        for subject in (content.subject, personalise(content, someone).subject):
            assert subject.isprintable(), subject
            assert "x Bcc: someone@example.test" in subject


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", NEWS)
def test_email_names_the_components_and_links_the_page(event: str, locale: str) -> None:
    values = context(event, locale)

    content = rendering.render(event, "email", locale, values)

    assert values["body"] in content.text
    assert str(markdown.to_html(values["body"])) in unstyled(content.html)
    if Event(event).subject != "problem":
        assert all(name in content.text for name in values["components"])
        assert all(name in content.html for name in values["components"])
        assert 'href="http://status.test/"' in content.html


def test_japanese_email_reads_japanese() -> None:
    content = rendering.render(
        Event.incident_created, "email", "ja", context(Event.incident_created, "ja")
    )

    assert content.subject.startswith("【テスト株式会社】決済エラーの発生")
    assert "原因特定" in content.subject
    assert "影響範囲: 決済、API" in content.text
    assert "申し訳ございません" in content.text


def test_an_unknown_locale_falls_back_to_english() -> None:
    values = context(Event.incident_created, "en")

    content = rendering.render(Event.incident_created, "email", "fr", values)

    assert content == rendering.render(Event.incident_created, "email", "en", values)


def test_optional_lines_are_left_out_when_empty() -> None:
    values = context(Event.incident_created, "en", components=[], next_update_by="")

    content = rendering.render(Event.incident_created, "email", "en", values)
    sms = rendering.render(Event.incident_created, "sms", "en", values)

    assert "Affected" not in content.text
    assert "Affected" not in content.html
    assert "next update" not in content.text
    assert "Next update" not in sms.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", NEWS)
def test_html_escapes_the_body_while_text_keeps_it_literal(event: str, locale: str) -> None:
    script = "<script>alert('x')</script> & more"
    values = context(event, locale, body=script, title="A <b>bold</b> title")

    content = rendering.render(event, "email", locale, values)

    assert "<script>" not in content.html
    # The body is Markdown with raw HTML off: the tag is shown as text, never run.
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; more" in content.html
    assert script in content.text
    if Event(event).subject != "problem":
        assert "<b>bold</b>" not in content.html
        assert "A &lt;b&gt;bold&lt;/b&gt; title" in content.html
        assert "A <b>bold</b> title" in content.subject


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", rendering.EVENTS)
def test_email_carries_the_per_recipient_tokens(event: str, locale: str) -> None:
    content = rendering.render(event, "email", locale, context(event, locale))

    assert content.text.startswith("%%greeting%%")
    assert "%%unsubscribe_url%%" in content.text
    assert "<p>%%greeting_html%%</p>" in unstyled(content.html)
    assert '<a href="%%unsubscribe_url_html%%">' in unstyled(content.html)
    # Each part carries its own form of the tokens: the HTML one is substituted escaped.
    assert "%%greeting%%" not in content.html
    assert "_html%%" not in content.text


def test_personalise_fills_in_the_greeting_and_the_unsubscribe_link() -> None:
    content = rendering.render(
        Event.incident_created, "email", "en", context(Event.incident_created, "en")
    )
    url = "http://status.test/unsubscribe/abc?channel=email&x=1"

    seen = personalise(content, recipient("en", "Sam", url))

    assert seen.text.startswith("Hi Sam,\n")
    assert f"Unsubscribe: {url}" in seen.text
    assert "Manage your subscription: http://status.test/manage/tok" in seen.text
    assert "<p>Hi Sam,</p>" in unstyled(seen.html)
    assert '<a href="http://status.test/unsubscribe/abc?channel=email&amp;x=1">' in unstyled(
        seen.html
    )
    assert "%%" not in seen.subject + seen.text + seen.html


def test_personalise_escapes_a_name_in_the_html_part_only() -> None:
    content = rendering.render(
        Event.incident_created, "email", "en", context(Event.incident_created, "en")
    )

    seen = personalise(content, recipient("en", "<b>Sam</b>", "http://status.test/u/1"))

    assert seen.text.startswith("Hi <b>Sam</b>,")
    assert "<p>Hi &lt;b&gt;Sam&lt;/b&gt;,</p>" in unstyled(seen.html)
    assert "<b>Sam</b>" not in seen.html


def test_personalise_greets_japanese_customers_with_sama() -> None:
    content = rendering.render(
        Event.problem_opened, "email", "ja", context(Event.problem_opened, "ja")
    )

    named = personalise(content, recipient("ja", "花子", "http://status.test/u/1", family="山田"))
    anonymous = personalise(content, recipient("ja", None, "http://status.test/u/2"))

    assert named.text.startswith("山田様\n")
    assert "<p>山田様</p>" in unstyled(named.html)
    assert anonymous.text.startswith("お客様\n")
    assert "配信停止: http://status.test/u/2" in anonymous.text


def test_personalise_leaves_content_without_tokens_alone() -> None:
    content = Content(subject="Checkout errors", text="Checkout errors: identified.")

    assert personalise(content, recipient("en", "Sam", "http://status.test/u/1")) == content


def test_markdown_in_an_update_is_plain_text_in_sms_and_text_email_and_html_in_email() -> None:
    body = "Checkout fails for **some users**. See [status](https://example.com/s)."
    # As messages.context gives them: the short body is cut from the plain text.
    short = messages.shorten(markdown.to_text(body))
    values = context(Event.incident_created, "en", body=body, body_short=short)

    sms = rendering.render(Event.incident_created, "sms", "en", values)
    inapp = rendering.render(Event.incident_created, "inapp", "en", values)
    email = rendering.render(Event.incident_created, "email", "en", values)

    said = "Checkout fails for some users. See status (https://example.com/s)."
    for text in (sms.text, inapp.text, email.text):
        assert said in text
        assert "*" not in text
        assert "](" not in text
    assert "<strong>some users</strong>" in unstyled(email.html)
    assert '<a href="https://example.com/s"' in email.html


WINDOW = {"en": "Dec 20, 10:00-12:00 UTC", "ja": "12月20日 10:00〜12:00 JST"}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_maintenance_message_names_its_window_and_status(channel: str, locale: str) -> None:
    values = context(Event.maintenance_updated, locale, window=WINDOW[locale])

    content = rendering.render(Event.maintenance_updated, channel, locale, values)

    assert WINDOW[locale] in content.text
    assert values["status_label"] in content.text
    if channel != "sms":
        assert WINDOW[locale] in content.subject
    if channel == "email":
        assert f"<strong>{WINDOW[locale]}</strong>" in unstyled(content.html)
        assert f">{values['status_label']}</span>" in unstyled(content.html)


def test_a_maintenance_message_without_a_window_leaves_the_line_out() -> None:
    values = context(Event.maintenance_started, "en", window="")

    content = rendering.render(Event.maintenance_started, "email", "en", values)

    assert "window" not in content.text + content.html + content.subject


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_resolved_problem_says_so_without_an_eta_or_a_promise(channel: str, locale: str) -> None:
    values = context(Event.problem_resolved, locale, kind="delayed", status="resolved")

    content = rendering.render(Event.problem_resolved, channel, locale, values)

    said = content.subject + content.text + content.html
    assert values["eta"] not in said
    for promise in (
        "expected delivery",
        "as soon as anything changes",
        "お届け予定",
        "進展があり次第",
    ):
        assert promise not in said
    assert values["reference"] in content.text
    if channel != "sms":
        assert ("has been resolved" if locale == "en" else "解決いたしました") in content.subject
    thanks = "Thank you for your patience" if locale == "en" else "ありがとうございました"
    assert thanks in content.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_an_open_delayed_problem_names_the_reference_first_and_the_eta(
    channel: str, locale: str
) -> None:
    values = context(Event.problem_opened, locale, kind="delayed", status="open")

    content = rendering.render(Event.problem_opened, channel, locale, values)

    first = {
        "en": "Your order ORD-12345 is delayed.",
        "ja": "ご注文（ORD-12345）のお届けが遅れております。",  # noqa: RUF001  (Japanese brackets)
    }[locale]
    assert first in content.text
    # The reference comes before the update's own words.
    assert content.text.index(first) < content.text.index(values["body_short"][:10])
    assert values["eta"] in content.text
    if channel == "email":
        assert f"<h1>{first}</h1>" in unstyled(content.html)  # the headline
        assert (
            "as soon as anything changes" if locale == "en" else "進展があり次第"
        ) in content.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["delayed", "failed_attempt", "lost", "damaged", "cancelled"])
def test_each_kind_of_problem_has_its_own_first_sentence(kind: str, locale: str) -> None:
    values = context(Event.problem_opened, locale, kind=kind, status="open")
    unknown = context(Event.problem_opened, locale, kind="something_else", status="open")

    said = rendering.render(Event.problem_opened, "sms", locale, values).text
    fallback = rendering.render(Event.problem_opened, "sms", locale, unknown).text

    assert "ORD-12345" in said
    assert said != fallback


def test_times_left_as_tokens_are_each_recipients_and_escaped_in_html() -> None:
    event = Event.maintenance_scheduled
    said = messages.with_time_tokens(
        template_samples.context(event, "en", messages.VARIABLES[event])
    )
    assert (said["window"], said["next_update_by"]) == ("%%window%%", "%%next_update_by%%")
    email = rendering.render(event, "email", "en", said)
    assert "%%window%%" in email.subject
    assert "%%window_html%%" in email.html
    assert "%%window%%" not in email.html
    times = {"window": "Dec 20, <10:00-12:00> JST", "next_update_by": "Dec 1, 19:30 JST"}
    shown = personalise(email, Recipient(delivery_id=1, address="a@example.com", values=times))
    assert "Dec 20, &lt;10:00-12:00&gt; JST" in shown.html
    assert "Dec 20, <10:00-12:00> JST" in shown.subject
    assert "Dec 20, <10:00-12:00> JST" in shown.text
    inapp = rendering.render(event, "inapp", "en", said)
    assert "%%" not in personalise(inapp, Recipient(1, "user-1", times)).subject


def test_a_time_that_is_not_there_stays_empty() -> None:
    event = Event.incident_resolved
    said = template_samples.context(event, "en", messages.VARIABLES[event])
    assert messages.with_time_tokens(said)["next_update_by"] == ""
