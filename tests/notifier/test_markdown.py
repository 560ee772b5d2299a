"""Update bodies are Markdown; nothing executable survives into HTML."""

from __future__ import annotations

import pytest

from notifier.markdown import to_html
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
