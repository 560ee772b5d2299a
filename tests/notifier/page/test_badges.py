"""The status badge says the state in words, and a component's name cannot break it."""

from __future__ import annotations

from xml.etree import ElementTree

from notifier.page.badges import badge
from notifier.statuses import ComponentStatus

SVG = "{http://www.w3.org/2000/svg}"


def test_the_badge_says_the_state_in_words() -> None:
    words = {
        ComponentStatus.operational: "operational",
        ComponentStatus.under_maintenance: "maintenance",
        ComponentStatus.degraded_performance: "degraded",
        ComponentStatus.partial_outage: "partial outage",
        ComponentStatus.major_outage: "major outage",
    }
    for status, said in words.items():
        svg = ElementTree.fromstring(badge("API", status))
        assert svg.get("aria-label") == f"API: {said}"
        assert svg.findtext(f"{SVG}title") == f"API: {said}"
        assert [t.text for t in svg.iter(f"{SVG}text")] == ["API", said]


def test_a_name_with_markup_or_control_characters_stays_well_formed() -> None:
    svg = ElementTree.fromstring(badge("<b>Pay & go</b>\x00\x1b", ComponentStatus.major_outage))
    assert svg.get("aria-label") == "<b>Pay & go</b>: major outage"
    name, _state = (t.text for t in svg.iter(f"{SVG}text"))
    assert name == "<b>Pay & go</b>"


def test_a_name_with_double_quotes_stays_well_formed() -> None:
    svg = ElementTree.fromstring(badge('Pay "EU"', ComponentStatus.operational))
    assert svg.get("aria-label") == 'Pay "EU": operational'


def test_the_badge_widens_with_its_words() -> None:
    narrow = ElementTree.fromstring(badge("API", ComponentStatus.operational))
    wide = ElementTree.fromstring(badge("Payments API", ComponentStatus.partial_outage))
    assert int(wide.get("width", "0")) > int(narrow.get("width", "0"))
