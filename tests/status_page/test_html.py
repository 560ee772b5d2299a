"""Rendering the pages (``status_page/html.py`` and the templates behind it): the texts
the templates share with the JSON API, landmarks and headings on every page, and
colours that keep AA contrast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import status_page
from notifier.page.overview import indicator
from notifier.statuses import ComponentStatus
from status_page.html import Templates
from tests.conftest import Client, make_settings
from tests.status_page.pages import assert_headings_in_order, get, one_of_each_page, outline


def test_the_english_overall_sentence_is_the_one_the_json_api_gives() -> None:
    templates = Templates(make_settings("sqlite+aiosqlite://", ""))
    macros = templates.environment("en").get_template("_macros.html").module
    words = macros.OVERALL  # type: ignore[attr-defined]

    for status in ComponentStatus:
        assert words[status] == indicator([status])[1]


async def test_every_page_has_landmarks_and_headings_in_order(
    client: Client, admin: dict[str, str]
) -> None:
    for path in await one_of_each_page(client, admin):
        html = await get(client, path)
        tags = [tag for tag, _ in outline(html).tags]
        assert_headings_in_order(html)
        for landmark in ("header", "main", "footer", "nav"):
            assert landmark in tags, (path, landmark)
        assert tags.count("main") == 1
        navs = [attrs.get("aria-label") for tag, attrs in outline(html).tags if tag == "nav"]
        assert len(set(navs)) == len(navs), navs  # each navigation named apart


# Colours


def _palettes() -> dict[str, dict[str, str]]:
    css = Path(status_page.__file__).with_name("templates").joinpath("base.html").read_text()
    light, dark = re.findall(r":root \{(.*?)\}", css, re.S)[:2]
    return {
        name: dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", block))
        for name, block in (("light", light), ("dark", dark))
    }


def _luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_colour_has_aa_contrast_on_the_background_in_both_schemes(scheme: str) -> None:
    palette = _palettes()[scheme]
    text = ["fg", "muted", "link", "ok", "minor", "major", "critical", "maint"]

    assert set(text) | {"bg", "nodata", "line"} <= set(palette)
    for name in text:  # text, and the day bars of the same colours
        assert contrast(palette[name], palette["bg"]) >= 4.5, name
    assert contrast(palette["nodata"], palette["bg"]) >= 3, "no-data bars"
