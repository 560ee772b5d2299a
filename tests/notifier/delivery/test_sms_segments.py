"""What an SMS costs: GSM-7 (160 / 153 a segment) or UCS-2 (70 / 67 a segment)."""

from __future__ import annotations

import pytest

from notifier.delivery import messages, rendering
from notifier.delivery.channels.base import Recipient, personalise
from notifier.delivery.sms_segments import encoding, segments


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_in_one_segment_then_153_each(length: int, expected: int) -> None:
    text = "a" * length

    assert encoding(text) == "GSM-7"
    assert segments(text) == expected


def test_an_empty_text_still_costs_one_segment() -> None:
    assert segments("") == 1


def test_gsm7_accents_and_symbols_of_the_basic_set_stay_gsm7() -> None:
    assert encoding("Café @ £5, Ñoño: ¿qué? Åse & Søren!\n") == "GSM-7"


def test_a_character_outside_gsm7_makes_the_whole_text_ucs2() -> None:
    assert encoding("Crème brûlée") == "UCS-2"
    assert segments("a" * 69 + "û") == 1
    assert segments("a" * 70 + "û") == 2


@pytest.mark.parametrize("char", list("^{}\\[~]|€"))
def test_extension_characters_count_double(char: str) -> None:
    assert encoding(char) == "GSM-7"
    assert segments(char * 80) == 1
    assert segments(char * 80 + "a") == 2
    assert segments("a" * 159 + char) == 2


def test_an_extension_character_is_never_split_across_segments() -> None:
    # 306 septets would fill two segments of 153, but the escape pair of the
    # euro sign cannot straddle them: the first segment carries 152.
    text = "a" * 152 + "€" + "a" * 152

    assert segments(text) == 3


@pytest.mark.parametrize(
    ("length", "expected"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_japanese_is_ucs2_70_in_one_segment_then_67_each(length: int, expected: int) -> None:
    text = "障" * length

    assert encoding(text) == "UCS-2"
    assert segments(text) == expected


def test_emoji_count_two_units_each() -> None:
    assert encoding("🙂") == "UCS-2"
    assert segments("🙂" * 35) == 1
    assert segments("🙂" * 35 + "a") == 2
    assert segments("a" * 69 + "🙂") == 2


def test_an_emoji_is_never_split_across_segments() -> None:
    # 134 units would fill two segments of 67, but the surrogate pair cannot
    # straddle them: the first segment carries 66.
    text = "a" * 66 + "🙂" + "a" * 66

    assert segments(text) == 3


def sms_context(**overrides: str) -> dict[str, object]:
    context: dict[str, object] = {
        "page_name": "Example\xa0Shop",
        "url": "http://status.test/",
        "title": "Checkout\xa0errors",
        "status_label": "Identified",
        "body": "We have found the cause.",
        "body_short": "We have found the cause.",
        "components": ["Checkout"],
        "next_update_by": "2026-11-23 15:30 UTC",
    }
    context.update(overrides)
    return context


def test_sms_safe_replaces_no_break_spaces() -> None:
    assert rendering.sms_safe("15\xa0min") == "15 min"


def test_an_english_sms_with_no_break_spaces_stays_gsm7() -> None:
    text = rendering.render("incident_updated", "sms", "en", sms_context()).text

    assert "\xa0" not in text
    assert "Example Shop update: Checkout errors (Identified)." in text
    assert encoding(text) == "GSM-7"
    assert segments(text) == 1


def test_an_english_sms_with_typographic_punctuation_stays_gsm7() -> None:
    body = "We\u2019re on it \u2013 \u201cpayments\u201d fail \u2014 sorry"
    context = sms_context(body=body, body_short=body)

    text = rendering.render("incident_updated", "sms", "en", context).text

    assert encoding(text) == "GSM-7", text


def test_a_shortened_english_body_stays_gsm7() -> None:
    body = "Card payments fail at checkout for some customers. " * 10
    context = sms_context(body=body, body_short=messages.shorten(body))

    text = rendering.render("incident_updated", "sms", "en", context).text

    assert "..." in text
    assert "\u2026" not in text
    assert encoding(text) == "GSM-7", text


def test_a_japanese_sms_is_ucs2_and_cut_to_the_segment_limit_with_its_link() -> None:
    context = sms_context(
        page_name="テスト株式会社",
        title="決済エラー",
        status_label="原因特定",
        body_short=messages.shorten("一部のお客様で決済が完了しない事象が発生しています。" * 8),
        next_update_by="11月23日 15:30 JST",
    )
    values = {"greeting": "山田様"}

    content = rendering.render(
        "incident_updated", "sms", "ja", context, sms_max_segments=2, values=values
    )
    text = personalise(content, Recipient(1, "+819012345678", values)).text

    assert encoding(text) == "UCS-2"
    assert text.startswith("山田様【テスト株式会社】決済エラー（原因特定）")  # noqa: RUF001
    assert text.endswith("次回のお知らせ: 11月23日 15:30 JST http://status.test/")
    assert "..." in text
    # 67 characters a part once a UCS-2 message has more than one: cut to fill two.
    assert segments(text) == 2
    assert len(text) > 120
