"""Ops API: contacts a helpdesk records (a customer reached support about a subject)."""

from __future__ import annotations

from notifier.care import contacts
from notifier.schemas.care import ContactCreate, ContactQuery
from status_page.api.models.care import ContactOut
from status_page.api.models.common import Page
from status_page.api.routing import Api, Context

api = Api("/api/v1")
WRITE = "contacts:write"
TAG = "contacts"


@api.route(
    "POST",
    "/contacts",
    summary="Record that a customer contacted support about a subject (201; 200 when its "
    "external_id was recorded already)",
    tag=TAG,
    scope=WRITE,
    body=ContactCreate,
    response=ContactOut,
    status=201,
    audit="contact.create",
    # The body names the customer by external_id, which the audit log never keeps.
    audit_values=False,
    extra_statuses=(200, 409),
)
async def record_contact(ctx: Context, body: ContactCreate) -> ContactOut:
    """The contact (201), or the one recorded first with this external_id (200); 404
    naming ``customer`` or ``subject_id`` for a record that does not exist, 409 naming
    ``external_id`` when it was recorded with other details."""
    contact, created = await contacts.record(ctx.session, body, now=ctx.now)
    ctx.status = 201 if created else 200
    return ContactOut.from_record(contact, body.customer)


@api.route(
    "GET",
    "/contacts",
    summary="List contacts, newest recorded first, optionally about one subject",
    tag=TAG,
    scope="read",
    query=ContactQuery,
    response=Page[ContactOut],
)
async def list_contacts(ctx: Context, query: ContactQuery) -> Page[ContactOut]:
    """A page of contacts, newest recorded first; 422 for a bad query or cursor."""
    rows, cursor = await contacts.list_contacts(ctx.session, query)
    names = await contacts.external_ids(ctx.session, rows)
    return Page(
        data=[ContactOut.from_record(c, names.get(c.customer_id)) for c in rows],
        next_cursor=cursor,
    )
