"""Ops API: the audit log of changes made through it."""

from __future__ import annotations

from notifier import audit
from notifier.schemas.access import AuditQuery
from status_page.api.models.access import AuditEntryOut
from status_page.api.models.common import Page
from status_page.api.routing import Api, Context

api = Api("/api/v1")


@api.route(
    "GET",
    "/audit-log",
    summary="List changes made through the API, newest first",
    tag="audit",
    scope="admin",
    query=AuditQuery,
    response=Page[AuditEntryOut],
)
async def list_audit_log(ctx: Context, query: AuditQuery) -> Page[AuditEntryOut]:
    """A page of audit entries, newest first; 422 for a bad query or cursor."""
    rows, cursor = await audit.list_entries(ctx.session, query)
    return Page(data=[AuditEntryOut.model_validate(e) for e in rows], next_cursor=cursor)
