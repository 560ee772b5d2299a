"""The values that cross the channel interface: a subject is one line whatever it holds,
and each recipient's values fill the tokens, HTML-escaped in the HTML part."""

from __future__ import annotations

from notifier.delivery.channels.base import Content, DeliveryError, Recipient, personalise, token


def test_a_subject_is_one_line_whatever_its_parts_hold() -> None:
    assert Content(subject="Checkout\r\nBcc: x@example.test", text="t").subject == (
        "Checkout Bcc: x@example.test"
    )


def test_each_recipient_sees_their_own_values_escaped_only_in_html() -> None:
    content = Content(
        subject="For %%greeting%%",
        text="%%greeting%% see %%manage_url%%",
        html="<p>%%greeting_html%%</p>",
    )
    ann = Recipient(1, "ann@example.com", {"greeting": "Hi <Ann>,", "manage_url": "http://m/1"})
    seen = personalise(content, ann)
    assert seen.subject == "For Hi <Ann>,"
    assert seen.text == "Hi <Ann>, see http://m/1"
    assert seen.html == "<p>Hi &lt;Ann&gt;,</p>"
    assert (token("greeting"), token("greeting", html_part=True)) == (
        "%%greeting%%",
        "%%greeting_html%%",
    )


def test_an_address_already_suppressed_is_a_permanent_error_that_says_why() -> None:
    error = DeliveryError.suppressed_address("stop")
    assert (error.permanent, error.suppressed, error.reason) == (True, True, "suppressed: stop")
    assert error.suppress is None  # already on the list: nothing new to record
