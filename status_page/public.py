"""The public pages: home (status, incidents, maintenance, 90-day uptime), one page per
incident and per maintenance, and the history by month. All texts are in the
templates, in the visitor's language; times are in the page's time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from notifier.db import utcnow
from notifier.page import history, uptime
from notifier.page.overview import overview
from notifier.statuses import ComponentStatus, IncidentKind, MaintenanceStatus
from notifier.tables import Incident
from status_page import html, keys


def add_routes(app: web.Application) -> None:
    """``/``, ``/incidents/{id}``, ``/maintenance/{id}``, ``/history``, ``/paused`` and
    ``/healthz``."""
    app.router.add_get("/", home)
    app.router.add_get("/incidents/{incident_id}", incident_page)
    app.router.add_get("/maintenance/{maintenance_id}", maintenance_page)
    app.router.add_get("/history", history_page)
    app.router.add_get("/paused", paused_page)
    app.router.add_get("/healthz", health)


def _zone(request: web.Request) -> ZoneInfo:
    return request.app[keys.TEMPLATES].zone


async def home(request: web.Request) -> web.Response:
    """The status page: overall state, open incidents and maintenance, each shown
    component's 90-day uptime bars (30 on a phone), and the last 7 days' incidents.
    """
    now = utcnow()
    window = uptime.Window.ending(now, _zone(request))
    async with request.app[keys.SESSIONS]() as session:
        view = await overview(session)
        shown = [c for _, members in view.groups for c in members]
        histories = await uptime.load(session, shown, window)
        recent = await history.recent_days(session, now, _zone(request))
    return html.render(
        request,
        "index.html",
        worst=view.worst,
        incidents=view.incidents,
        maintenance=view.maintenance,
        groups=view.groups,
        histories=histories,
        window=window,
        narrow_days=uptime.NARROW_DAYS,
        recent=recent,
        now=now,
        partial_weight=round(uptime.DOWNTIME[ComponentStatus.partial_outage] * 100),
    )


async def _shown(request: web.Request, record_id: str) -> Incident | None:
    """A public incident or maintenance, with its updates and components; None if hidden."""
    async with request.app[keys.SESSIONS]() as session:
        record = await session.get(Incident, record_id)
    if record is None or not record.public or record.status == MaintenanceStatus.cancelled:
        return None
    return record


async def incident_page(request: web.Request) -> web.Response:
    """One public incident; maintenance is redirected (302) to its ``/maintenance/`` page,
    and an unknown, private or cancelled id gets the 404 page.
    """
    incident = await _shown(request, request.match_info["incident_id"])
    if incident is None:
        return _not_found(request)
    if incident.kind == IncidentKind.maintenance:
        # Statuspage links maintenance as /incidents/{id} too (our v2 JSON and feeds do).
        raise web.HTTPFound(
            request.rel_url.with_path(f"/maintenance/{incident.id}").with_query(request.query)
        )
    return html.render(request, "incident.html", incident=incident, now=utcnow())


async def maintenance_page(request: web.Request) -> web.Response:
    """One public maintenance; anything else (or a cancelled one) gets the 404 page."""
    item = await _shown(request, request.match_info["maintenance_id"])
    if item is None or item.kind != IncidentKind.maintenance:
        return _not_found(request)
    return html.render(request, "maintenance.html", item=item, now=utcnow())


async def history_page(request: web.Request) -> web.Response:
    """One month of history, ``?month=2026-11`` (default the current month in the page's
    zone); a month that does not parse gets the 404 page.
    """
    now, zone = utcnow(), _zone(request)
    current = history.Month.containing(now, zone)
    asked = request.query.get("month")
    month = current if asked is None else history.Month.parse(asked)
    if month is None:
        return _not_found(request)
    async with request.app[keys.SESSIONS]() as session:
        found = await history.month_history(session, month, zone)
    return html.render(
        request,
        "history.html",
        month=month,
        entries=found.entries,
        previous=month.previous if found.has_earlier else None,
        next=month.next if month < current else None,
        start_of=lambda m: uptime.midnight(m.first_day, zone),
        now=now,
    )


async def paused_page(request: web.Request) -> web.Response:
    """What the web server in front shows (503) at ``/subscribe``, ``/manage`` and the like
    while Forewarn itself is away: published in the static snapshot
    (``status_page.snapshot``). Here too a 503, with ``Retry-After``, as it is served there.
    """
    response = html.render(request, "paused.html", status=503)
    response.headers["Retry-After"] = "120"
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(request: web.Request) -> web.Response:
    return html.render(request, "not_found.html", status=404)


async def health(request: web.Request) -> web.Response:
    """Liveness: ``{"status": "ok"}`` while the process serves at all. It asks nothing of
    the database or Redis: an outage of theirs must not make every web process look dead
    and be restarted (``/readyz`` says whether this one can serve now)."""
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})
