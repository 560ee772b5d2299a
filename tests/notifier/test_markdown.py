"""Update bodies are Markdown; nothing executable survives into HTML, and text channels
get plain text."""

from __future__ import annotations

import pytest

from notifier.markdown import to_html, to_text
from tests.conftest import Client


def test_it_renders_the_markdown_ops_write() -> None:
    html = to_html("**Fixed** in [the status page](https://status.example.com).\n\n- one\n- two")
    assert "<strong>Fixed</strong>" in html
    assert '<a href="https://status.example.com" rel="noopener noreferrer nofollow">' in html
    assert "<li>one</li>" in html


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "[x](JaVaScRiPt:alert(1))",
        "<a href='javascript:alert(1)'>x</a>",
    ],
)
def test_nothing_executable_survives(body: str) -> None:
    html = to_html(body).lower()
    assert "<script" not in html
    assert "<img" not in html
    assert "<a href=" not in html  # not a link at all, let alone a javascript: one


async def test_the_page_shows_markdown_but_never_a_script(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Payments",
            "body": "**Card payments** fail. <script>alert(1)</script> [x](javascript:alert(1))",
        },
        headers=admin,
    )
    assert response.status == 201
    page = await (await client.get("/")).text()
    assert "<strong>Card payments</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript:' not in page


def test_headings_in_a_body_sit_under_the_pages_own() -> None:
    html = to_html("# What happened\n\n## Next steps\n\n###### Small", top=4)
    assert "<h4>What happened</h4>" in html
    assert "<h5>Next steps</h5>" in html
    assert "<h6>Small</h6>" in html
    assert "<h1>" in to_html("# Title")


async def test_an_update_heading_keeps_the_incident_pages_outline(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": "Payments", "body": "# Cause\n\nA certificate expired."},
        headers=admin,
    )
    incident = await response.json()
    for path in ("/", f"/incidents/{incident['id']}"):
        page = await (await client.get(path)).text()
        assert "<h4>Cause</h4>" in page, path
        assert "<h1>Cause</h1>" not in page


def test_plain_text_without_markdown_is_unchanged() -> None:
    body = "Some card payments fail at checkout. We're on it & will update you."
    assert to_text(body) == body


def test_emphasis_strong_and_code_marks_are_dropped() -> None:
    assert to_text("**some users**, *not all*, see `E42` __today__") == (
        "some users, not all, see E42 today"
    )


def test_a_link_keeps_its_url_after_the_label() -> None:
    assert to_text("See [status](https://example.com/s).") == (
        "See status (https://example.com/s)."
    )


def test_a_link_that_is_its_own_label_is_the_url_alone() -> None:
    assert to_text("<https://example.com/s> or [https://example.com/s](https://example.com/s)") == (
        "https://example.com/s or https://example.com/s"
    )
    assert to_text("[help@example.com](mailto:help@example.com)") == "help@example.com"
    assert to_text("[Write](mailto:help@example.com)") == "Write (mailto:help@example.com)"


@pytest.mark.parametrize(
    "body", ["[click](javascript:alert(1))", "[click](JaVaScRiPt:alert(1))", "[click](/relative)"]
)
def test_a_link_to_another_scheme_keeps_only_its_label(body: str) -> None:
    assert to_text(body) == "click"


def test_an_image_becomes_its_alt_text() -> None:
    assert to_text("Before ![the error page](https://example.com/e.png) after") == (
        "Before the error page after"
    )


def test_list_items_are_one_a_line() -> None:
    body = "Affected:\n\n- checkout\n- **API**\n  - webhooks\n\n3. first\n4. second"
    assert to_text(body) == "Affected:\n\n- checkout\n- API\n  - webhooks\n\n3. first\n4. second"


def test_a_heading_is_its_text_on_its_own_line() -> None:
    assert to_text("# What happened\nA certificate expired.\n\n## Next") == (
        "What happened\n\nA certificate expired.\n\nNext"
    )


def test_a_blockquote_keeps_its_text() -> None:
    assert to_text("> We *apologise*.\n\nThanks") == "We apologise.\n\nThanks"


def test_paragraphs_are_one_blank_line_apart_and_breaks_are_kept() -> None:
    body = "One  \nhard break\nsoft break   \n\n\n\nTwo   "
    assert to_text(body) == "One\nhard break\nsoft break\n\nTwo"
