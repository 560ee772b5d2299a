"""Atom and RSS feeds, and the status badges."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.tables import Component, Incident, IncidentUpdate
from tests.conftest import Client

Headers = dict[str, str]
ATOM = "{http://www.w3.org/2005/Atom}"
Sessions = async_sessionmaker[AsyncSession]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> dict[str, list[dict[str, str | None]]]:
    """The elements a browser or feed reader would build from ``html``: tag -> attributes."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    out: dict[str, list[dict[str, str | None]]] = {}
    for tag, attrs in parser.found:
        out.setdefault(tag, []).append(attrs)
    return out


def entry_html(xml: bytes) -> list[str]:
    """Each entry's HTML as a feed reader gets it: Atom content, or RSS description."""
    root = ElementTree.fromstring(xml)
    atom = root.findall(f"{ATOM}entry/{ATOM}content")
    assert all(c.attrib.get("type") == "html" for c in atom)
    return [e.text or "" for e in atom + root.findall("./channel/item/description")]


def feed_paths(component_id: str) -> list[str]:
    return [
        "/feed.atom",
        "/feed.rss",
        f"/components/{component_id}/feed.atom",
        f"/components/{component_id}/feed.rss",
    ]


async def post(client: Client, admin: Headers, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/api/v1/{path}", json=body, headers=admin)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_the_atom_feed_lists_public_incidents_and_maintenance_newest_first(
    client: Client, admin: Headers
) -> None:
    api = await post(client, admin, "components", {"name": "API"})
    await post(client, admin, "incidents", {"title": "Old outage", "body": "Fixed later."})
    await post(client, admin, "incidents", {"title": "Hidden", "body": "x", "public": False})
    await post(
        client,
        admin,
        "incidents",
        {
            "title": "Slow API",
            "body": "Investigating.",
            "components": [{"component_id": api["id"], "status": "degraded_performance"}],
        },
    )
    response = await client.get("/feed.atom")
    assert response.status == 200
    assert response.content_type == "application/atom+xml"
    root = ElementTree.fromstring(await response.read())
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert titles == ["Incident: Slow API (investigating)", "Incident: Old outage (investigating)"]
    [link] = root.findall(f"{ATOM}entry")[0].findall(f"{ATOM}link")
    assert link.attrib["href"].startswith("http://status.test/incidents/")


async def test_a_components_rss_feed_has_only_its_incidents(client: Client, admin: Headers) -> None:
    api = await post(client, admin, "components", {"name": "API"})
    await post(client, admin, "incidents", {"title": "Elsewhere", "body": "Not the API."})
    await post(
        client,
        admin,
        "incidents",
        {
            "title": "API errors",
            "body": "<script>alert(1)</script> Investigating.",
            "components": [{"component_id": api["id"], "status": "major_outage"}],
        },
    )
    response = await client.get(f"/components/{api['id']}/feed.rss")
    assert response.status == 200
    assert response.content_type == "application/rss+xml"
    root = ElementTree.fromstring(await response.read())
    items = root.findall("./channel/item")
    assert [i.findtext("title") for i in items] == ["Incident: API errors (investigating)"]
    # The markup typed in the body is text on the page and in the feed, never live markup.
    description = items[0].findtext("description") or ""
    assert "script" not in elements(description)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Investigating." in description
    assert (await client.get("/components/nope/feed.rss")).status == 404


async def test_the_badges_say_the_state_in_words(client: Client, admin: Headers) -> None:
    api = await post(client, admin, "components", {"name": "A<B"})
    page = await (await client.get("/badge.svg")).text()
    assert 'aria-label="status: operational"' in page

    changed = await client.patch(
        f"/api/v1/components/{api['id']}", json={"status": "major_outage"}, headers=admin
    )
    assert changed.status == 200
    response = await client.get(f"/components/{api['id']}/badge.svg")
    assert response.content_type == "image/svg+xml"
    svg = await response.text()
    assert "A&lt;B: major outage" in svg
    assert "<B" not in svg
    assert "major outage" in await (await client.get("/badge.svg")).text()
    assert (await client.get("/components/nope/badge.svg")).status == 404


async def test_feeds_carry_the_sanitised_html_the_page_shows(
    client: Client, admin: Headers
) -> None:
    api = await post(client, admin, "components", {"name": "API"})
    incident = await post(
        client,
        admin,
        "incidents",
        {
            "title": "API errors",
            "body": "<script>alert(1)</script> **Investigating**, see "
            "[this](javascript:alert(2)) and [status](https://example.com/s).",
            "components": [{"component_id": api["id"], "status": "major_outage"}],
        },
    )
    page = await (await client.get(f"/incidents/{incident['id']}")).text()
    assert "<strong>Investigating</strong>" in page
    for path in feed_paths(api["id"]):
        response = await client.get(path)
        assert response.status == 200, path
        [html] = entry_html(await response.read())
        found = elements(html)
        assert "script" not in found, path
        assert found["strong"], path
        hrefs = [a.get("href") for a in found["a"]]
        assert hrefs == ["https://example.com/s"], path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


async def test_control_characters_in_stored_records_never_break_a_feed_or_badge(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    """Rows may hold what XML 1.0 forbids (older rows, other paths in): the feeds
    and badges leave those characters out instead of answering 500."""
    api = await post(client, admin, "components", {"name": "API"})
    incident = await post(
        client,
        admin,
        "incidents",
        {
            "title": "Login errors",
            "body": "Investigating.",
            "components": [{"component_id": api["id"], "status": "major_outage"}],
        },
    )
    async with sessions() as session, session.begin():
        await session.execute(
            update(Incident)
            .where(Incident.id == incident["id"])
            .values(title="Login \u0001 errors\ufffe")
        )
        await session.execute(
            update(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident["id"])
            .values(body="Some \u000b logins\u001f fail.\uffff")
        )
        await session.execute(
            update(Component).where(Component.id == api["id"]).values(name="API\u0002")
        )
    for path in feed_paths(api["id"]):
        response = await client.get(path)
        assert response.status == 200, path
        root = ElementTree.fromstring(await response.read())
        titles = [e.text or "" for e in root.iter() if e.tag in ("title", f"{ATOM}title")]
        assert "Incident: Login errors (investigating)" in [" ".join(t.split()) for t in titles]
        [html] = entry_html(await response.read())
        assert "Some  logins fail." in html, path
    for path in ("/badge.svg", f"/components/{api['id']}/badge.svg"):
        response = await client.get(path)
        assert response.status == 200, path
        ElementTree.fromstring(await response.read())
    svg = await (await client.get(f"/components/{api['id']}/badge.svg")).text()
    assert "API: major outage" in svg
