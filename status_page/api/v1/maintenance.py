"""Ops API: scheduled maintenance."""

from __future__ import annotations

from notifier import maintenance
from notifier.schemas.maintenance import (
    MaintenanceCancel,
    MaintenanceCreate,
    MaintenancePatch,
    MaintenanceQuery,
)
from status_page.api.models.common import Page
from status_page.api.models.incidents import MaintenanceOut
from status_page.api.routing import Api, Context

api = Api("/api/v1")
WRITE = "incidents:write"


@api.route(
    "GET",
    "/maintenance",
    summary="List scheduled maintenance, newest first",
    tag="maintenance",
    scope="read",
    query=MaintenanceQuery,
    response=Page[MaintenanceOut],
)
async def list_maintenance(ctx: Context, query: MaintenanceQuery) -> Page[MaintenanceOut]:
    """A page of maintenance, newest first; 422 for a bad query or cursor."""
    rows, cursor = await maintenance.list_maintenance(ctx.session, query)
    return Page(data=[MaintenanceOut.from_record(m) for m in rows], next_cursor=cursor)


@api.route(
    "POST",
    "/maintenance",
    summary="Schedule maintenance",
    tag="maintenance",
    scope=WRITE,
    body=MaintenanceCreate,
    response=MaintenanceOut,
    status=201,
    audit="maintenance.create",
)
async def create_maintenance(ctx: Context, body: MaintenanceCreate) -> MaintenanceOut:
    """The new maintenance (201); 404 naming components[i] for an unknown component."""
    row = await maintenance.create_maintenance(
        ctx.session, body, posted_by=ctx.posted_by, now=ctx.now
    )
    return MaintenanceOut.from_record(row)


@api.route(
    "GET",
    "/maintenance/{maintenance_id}",
    summary="Get a maintenance",
    tag="maintenance",
    scope="read",
    response=MaintenanceOut,
)
async def get_maintenance(ctx: Context, maintenance_id: str) -> MaintenanceOut:
    """The maintenance with its timeline; 404 for an unknown id."""
    row = await maintenance.get_maintenance(ctx.session, maintenance_id)
    return MaintenanceOut.from_record(row)


@api.route(
    "PATCH",
    "/maintenance/{maintenance_id}",
    summary="Change a maintenance's window or move it on (status forward only)",
    tag="maintenance",
    scope=WRITE,
    body=MaintenancePatch,
    response=MaintenanceOut,
    audit="maintenance.update",
    extra_statuses=(409,),
)
async def patch_maintenance(
    ctx: Context, maintenance_id: str, body: MaintenancePatch
) -> MaintenanceOut:
    """The changed maintenance; 409 once it ended, for a move back or a bad window."""
    row = await maintenance.patch_maintenance(
        ctx.session, maintenance_id, body, posted_by=ctx.posted_by, now=ctx.now
    )
    return MaintenanceOut.from_record(row)


@api.route(
    "POST",
    "/maintenance/{maintenance_id}/cancel",
    summary="Cancel a maintenance that has not started",
    tag="maintenance",
    scope=WRITE,
    body=MaintenanceCancel,
    body_required=False,
    response=MaintenanceOut,
    audit="maintenance.cancel",
    extra_statuses=(409,),
)
async def cancel(ctx: Context, maintenance_id: str, body: MaintenanceCancel) -> MaintenanceOut:
    """The cancelled maintenance; 409 unless it is still scheduled."""
    row = await maintenance.cancel_maintenance(
        ctx.session, maintenance_id, body, posted_by=ctx.posted_by, now=ctx.now
    )
    return MaintenanceOut.from_record(row)
