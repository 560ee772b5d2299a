"""Atom and RSS feeds, and the status badges."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from tests.conftest import Client

Headers = dict[str, str]
ATOM = "{http://www.w3.org/2005/Atom}"


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
    # The markup is text inside the XML, never live markup.
    assert "<script>" in (items[0].findtext("description") or "")
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
