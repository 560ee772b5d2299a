"""Ops API: incidents and their updates."""

from __future__ import annotations

from config import PromiseSettings
from notifier import incidents
from notifier.schemas.incidents import (
    IncidentCreate,
    IncidentPatch,
    IncidentQuery,
    IncidentResolve,
    IncidentUpdateCreate,
)
from status_page import keys
from status_page.api.models.common import Page
from status_page.api.models.incidents import IncidentOut
from status_page.api.routing import Api, Context

api = Api("/api/v1")
WRITE = "incidents:write"


@api.route(
    "GET",
    "/incidents",
    summary="List incidents, newest first",
    tag="incidents",
    scope="read",
    query=IncidentQuery,
    response=Page[IncidentOut],
)
async def list_incidents(ctx: Context, query: IncidentQuery) -> Page[IncidentOut]:
    """A page of incidents, newest first; 422 for a bad query or cursor."""
    rows, cursor = await incidents.list_incidents(ctx.session, query)
    return Page(data=[IncidentOut.from_record(i) for i in rows], next_cursor=cursor)


@api.route(
    "POST",
    "/incidents",
    summary="Open an incident with its first update",
    tag="incidents",
    scope=WRITE,
    body=IncidentCreate,
    response=IncidentOut,
    status=201,
    audit="incident.create",
)
async def create_incident(ctx: Context, body: IncidentCreate) -> IncidentOut:
    """The new incident (201); 404 or 422 naming the component at fault."""
    incident = await incidents.create_incident(
        ctx.session, body, posted_by=ctx.posted_by, now=ctx.now, cadence=_cadence(ctx)
    )
    return IncidentOut.from_record(incident)


@api.route(
    "GET",
    "/incidents/{incident_id}",
    summary="Get an incident with its timeline",
    tag="incidents",
    scope="read",
    response=IncidentOut,
)
async def get_incident(ctx: Context, incident_id: str) -> IncidentOut:
    """The incident with its timeline; 404 for an unknown id."""
    return IncidentOut.from_record(await incidents.get_incident(ctx.session, incident_id))


@api.route(
    "PATCH",
    "/incidents/{incident_id}",
    summary="Change an incident's title, impact, visibility or promised next update",
    tag="incidents",
    scope=WRITE,
    body=IncidentPatch,
    response=IncidentOut,
    audit="incident.update",
    extra_statuses=(409,),
)
async def patch_incident(ctx: Context, incident_id: str, body: IncidentPatch) -> IncidentOut:
    """The changed incident; 404 for an unknown id, 409 for next_update_by on an ended one."""
    incident = await incidents.patch_incident(ctx.session, incident_id, body, now=ctx.now)
    return IncidentOut.from_record(incident)


@api.route(
    "POST",
    "/incidents/{incident_id}/updates",
    summary="Post an update",
    tag="incidents",
    scope=WRITE,
    body=IncidentUpdateCreate,
    response=IncidentOut,
    status=201,
    audit="incident.post_update",
    extra_statuses=(409,),
)
async def post_update(ctx: Context, incident_id: str, body: IncidentUpdateCreate) -> IncidentOut:
    """The incident with the new update (201); 409 for a transition it cannot make."""
    incident = await incidents.post_update(
        ctx.session, incident_id, body, posted_by=ctx.posted_by, now=ctx.now, cadence=_cadence(ctx)
    )
    return IncidentOut.from_record(incident)


@api.route(
    "POST",
    "/incidents/{incident_id}/resolve",
    summary="Resolve an incident",
    tag="incidents",
    scope=WRITE,
    body=IncidentResolve,
    body_required=False,
    response=IncidentOut,
    audit="incident.resolve",
    extra_statuses=(409,),
)
async def resolve(ctx: Context, incident_id: str, body: IncidentResolve) -> IncidentOut:
    """The resolved incident; 409 when it has ended already."""
    incident = await incidents.resolve(
        ctx.session, incident_id, body, posted_by=ctx.posted_by, now=ctx.now
    )
    return IncidentOut.from_record(incident)


@api.route(
    "POST",
    "/incidents/{incident_id}/reopen",
    summary="Reopen a resolved incident with a new update",
    tag="incidents",
    scope=WRITE,
    body=IncidentUpdateCreate,
    response=IncidentOut,
    audit="incident.reopen",
    extra_statuses=(409,),
)
async def reopen(ctx: Context, incident_id: str, body: IncidentUpdateCreate) -> IncidentOut:
    """The reopened incident; 409 unless it had ended and the new status is active."""
    incident = await incidents.post_update(
        ctx.session,
        incident_id,
        body,
        posted_by=ctx.posted_by,
        now=ctx.now,
        reopen=True,
        cadence=_cadence(ctx),
    )
    return IncidentOut.from_record(incident)


def _cadence(ctx: Context) -> PromiseSettings:
    """The default promise by impact an update without ``next_update_by`` makes."""
    return ctx.request.app[keys.SETTINGS].promises
