"""The public page (minimal for now: components, open incidents, maintenance)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from notifier.overview import overview
from notifier.statuses import ComponentStatus
from status_page import html, keys

LABELS = {
    ComponentStatus.operational: "Operational",
    ComponentStatus.degraded_performance: "Degraded performance",
    ComponentStatus.partial_outage: "Partial outage",
    ComponentStatus.major_outage: "Major outage",
    ComponentStatus.under_maintenance: "Under maintenance",
}
# Shape as well as colour, so the state never depends on colour alone.
ICONS = {
    ComponentStatus.operational: "✓",
    ComponentStatus.degraded_performance: "▲",
    ComponentStatus.partial_outage: "◆",
    ComponentStatus.major_outage: "✕",
    ComponentStatus.under_maintenance: "⚙",
}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/healthz", health)


async def home(request: web.Request) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        view = await overview(session)
    return html.render(
        request,
        "index.html",
        overall={"css": view.worst, "icon": ICONS[view.worst], "text": view.description},
        incidents=view.incidents,
        maintenance=view.maintenance,
        groups=[(g.name if g else "", members) for g, members in view.groups],
        labels=LABELS,
        icons=ICONS,
    )


async def health(request: web.Request) -> web.Response:
    async with request.app[keys.ENGINE].connect() as connection:
        await connection.execute(text("SELECT 1"))
    return web.json_response({"status": "ok"})
