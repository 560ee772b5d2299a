"""Helpers for tests of the public pages: the page as a screen reader reads it, its
outline, requests to the pages and the ops API, and records made in the past."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import incidents
from notifier.schemas.incidents import AffectedComponent, IncidentCreate, IncidentResolve
from notifier.statuses import ComponentStatus
from tests.conftest import Client

Sessions = async_sessionmaker[AsyncSession]


class Text(HTMLParser):
    """The page as a screen reader reads it: text, no CSS, nothing aria-hidden."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            hidden = tag in ("style", "script", "title") or ("aria-hidden", "true") in attrs
            self._hidden.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._hidden:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not any(self._hidden):
            self.parts.append(data)


JA = {"Accept-Language": "ja"}


class Outline(HTMLParser):
    """Headings, landmarks and the attributes of every element, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), " ".join("".join(self._heading).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    parser = Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


async def get(
    client: Client, path: str, status: int = 200, headers: dict[str, str] | None = None
) -> str:
    response = await client.get(path, headers=headers, allow_redirects=False)
    assert response.status == status, await response.text()
    return await response.text()


async def api(
    client: Client, headers: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.request(method, f"/api/v1{path}", json=body, headers=headers)
    assert response.status in (200, 201), await response.text()
    result: dict[str, Any] = await response.json()
    return result


def in_order(page: str, *texts: str) -> None:
    at = -1
    for text in texts:
        found = page.find(text, at + 1)
        assert found > at, f"{text!r} not found after position {at} in {page!r}"
        at = found


def assert_headings_in_order(html: str) -> None:
    levels = [level for level, _ in outline(html).headings]
    assert levels[0] == 1
    assert levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, outline(html).headings


def midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


async def outage(
    sessions: Sessions,
    component_id: str,
    *,
    start: datetime,
    end: datetime,
    title: str = "API outage",
    status: ComponentStatus = ComponentStatus.major_outage,
) -> str:
    """A public incident that gave the component ``status`` from start to end."""
    async with sessions() as session, session.begin():
        incident = await incidents.create_incident(
            session,
            IncidentCreate(
                title=title,
                body="Requests are failing.",
                impact="major",
                notify=False,
                components=[AffectedComponent(component_id=component_id, status=status)],
            ),
            posted_by="test",
            now=start,
        )
        await incidents.resolve(
            session,
            incident.id,
            IncidentResolve(body="Fixed.", notify=False),
            posted_by="test",
            now=end,
        )
    return incident.id


async def one_of_each_page(client: Client, admin: dict[str, str]) -> list[str]:
    """One of each page, with content: their paths."""
    component = await api(client, admin, "POST", "/components", {"name": "Website"})
    await api(
        client, admin, "POST", "/component-groups", {"name": "Web", "components": [component["id"]]}
    )
    incident = await api(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Slow pages",
            "body": "Looking.",
            "impact": "major",
            "components": [{"component_id": component["id"], "status": "partial_outage"}],
            "next_update_by": "2030-01-01T06:30:00Z",
        },
    )
    item = await api(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Upgrade",
            "body": "Planned.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
            "components": [component["id"]],
        },
    )
    return ["/", f"/incidents/{incident['id']}", f"/maintenance/{item['id']}", "/history"]
