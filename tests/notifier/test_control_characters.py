"""What a stored text may hold and an output must not: XML-forbidden characters dropped,
header fields on one line, typed input with control characters recognised."""

from __future__ import annotations

from notifier.control_characters import one_line, undecodable, xml_safe


def test_xml_safe_drops_what_xml_1_0_forbids_and_keeps_the_rest() -> None:
    assert xml_safe("a\x00b\x1bc\ufffed\uffff") == "abcd"
    assert xml_safe("tab\tline\ncr\r 日本 🚀 \u00e9") == "tab\tline\ncr\r 日本 🚀 \u00e9"


def test_one_line_turns_each_run_of_breaks_into_one_space() -> None:
    assert one_line("  x\r\nBcc: someone@example.test\t\u2028end\u2029 ") == (
        "x Bcc: someone@example.test end"
    )
    assert one_line("Checkout errors") == "Checkout errors"


def test_undecodable_flags_control_characters_and_the_replacement_character() -> None:
    assert undecodable("bad\x07bell")
    assert undecodable("mojibake \ufffd")
    assert undecodable("two\nlines")
    assert not undecodable("two\nlines\tand a tab\r\n", multiline=True)
    assert undecodable("nul\x00", multiline=True)
    assert not undecodable("Checkout errors 日本")
