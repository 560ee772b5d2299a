"""Feeds (Atom, RSS) and status badges (SVG) for the page and each component."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from notifier.errors import NotFound
from notifier.page import badges, feeds
from notifier.statuses import ComponentStatus, worst
from notifier.tables import Component
from status_page import keys

CACHE_CONTROL = "public, max-age=30"
_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


def add_routes(app: web.Application) -> None:
    """``/feed.atom``, ``/feed.rss``, ``/badge.svg`` and the same under ``/components/{id}/``."""
    for kind in _TYPES:
        app.router.add_get(f"/feed.{kind}", _page_feed)
        app.router.add_get(f"/components/{{component_id}}/feed.{kind}", _component_feed)
    app.router.add_get("/badge.svg", page_badge)
    app.router.add_get("/components/{component_id}/badge.svg", component_badge)


async def _serve_feed(request: web.Request, component_id: str | None) -> web.Response:
    kind = request.path.rsplit(".", 1)[1]
    async with request.app[keys.SESSIONS]() as session:
        body = await feeds.feed(
            session, request.app[keys.SETTINGS], kind=kind, component_id=component_id
        )
    return web.Response(
        body=body,
        content_type=_TYPES[kind],
        charset="utf-8",
        headers={"Cache-Control": CACHE_CONTROL, "Access-Control-Allow-Origin": "*"},
    )


async def _page_feed(request: web.Request) -> web.Response:
    return await _serve_feed(request, None)


async def _component_feed(request: web.Request) -> web.Response:
    return await _serve_feed(request, request.match_info["component_id"])


def _svg(svg: str) -> web.Response:
    return web.Response(
        text=svg,
        content_type="image/svg+xml",
        headers={"Cache-Control": CACHE_CONTROL, "Access-Control-Allow-Origin": "*"},
    )


async def page_badge(request: web.Request) -> web.Response:
    """The page's badge: the worst status of the visible components."""
    async with request.app[keys.SESSIONS]() as session:
        statuses = await session.scalars(
            select(Component.status).where(Component.visible.is_(True))
        )
        state = worst([ComponentStatus(s) for s in statuses])
    return _svg(badges.badge("status", state))


async def component_badge(request: web.Request) -> web.Response:
    """One component's badge, labelled with its name; 404 for an unknown or hidden component."""
    component_id = request.match_info["component_id"]
    async with request.app[keys.SESSIONS]() as session:
        component = await session.get(Component, component_id)
    if component is None or not component.visible:
        raise NotFound("component", component_id)
    return _svg(badges.badge(component.name, ComponentStatus(component.status)))
