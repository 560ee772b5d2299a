"""Ops API: customers by the business's own id (upsert, read, search, timeline, export,
erase)."""

from __future__ import annotations

from notifier import customers, personal_data, subscribers, timeline
from notifier.schemas.common import PageQuery
from notifier.schemas.customers import CustomerPut, CustomerSearch
from status_page import keys
from status_page.api.models.common import Page
from status_page.api.models.customers import CustomerOut
from status_page.api.models.personal_data import PersonalDataOut
from status_page.api.models.timeline import TimelineEntry
from status_page.api.routing import Api, Context

api = Api("/api/v1")
READ = "customers:read"
WRITE = "customers:write"


@api.route(
    "GET",
    "/customers",
    summary="List customers, newest first",
    tag="customers",
    scope=READ,
    query=PageQuery,
    response=Page[CustomerOut],
)
async def list_customers(ctx: Context, query: PageQuery) -> Page[CustomerOut]:
    """A page of customers, newest first, read in three queries whatever its size."""
    rows, cursor = await customers.list_customers(ctx.session, query)
    data = [CustomerOut.from_record(p) for p in await subscribers.profiles(ctx.session, rows)]
    return Page(data=data, next_cursor=cursor)


@api.route(
    "POST",
    "/customers/search",
    summary="Find customers by email address or phone number, newest first",
    tag="customers",
    scope=READ,
    body=CustomerSearch,
    response=Page[CustomerOut],
    reads_only=True,
)
async def search_customers(ctx: Context, body: CustomerSearch) -> Page[CustomerOut]:
    # A POST so that the address travels in the body, never in a URL or an access log.
    """A page of the customers with this email or phone, newest first; 422 unless one."""
    rows, cursor = await customers.find_customers(ctx.session, body)
    data = [CustomerOut.from_record(p) for p in await subscribers.profiles(ctx.session, rows)]
    return Page(data=data, next_cursor=cursor)


@api.route(
    "PUT",
    "/customers/{external_id}",
    summary="Create or replace a customer by your own id (201 when created)",
    tag="customers",
    scope=WRITE,
    body=CustomerPut,
    response=CustomerOut,
    audit="customer.upsert",
    audit_values=False,
    extra_statuses=(201, 409),
)
async def put_customer(ctx: Context, external_id: str, body: CustomerPut) -> CustomerOut:
    # The routing checked external_id against notifier.schemas.fields.EXTERNAL_ID.
    """The customer, 201 when created, 200 when replaced; 409 for an in-app user id
    another customer has, 404 naming follows.components[i] for an unknown component.
    """
    customer, created = await customers.upsert_customer(
        ctx.session, external_id, body, secret=_secret(ctx), now=ctx.now
    )
    ctx.status = 201 if created else 200
    return CustomerOut.from_record(await subscribers.profile(ctx.session, customer))


@api.route(
    "GET",
    "/customers/{external_id}",
    summary="Get a customer",
    tag="customers",
    scope=READ,
    response=CustomerOut,
)
async def get_customer(ctx: Context, external_id: str) -> CustomerOut:
    """The customer; 404 for an unknown external_id."""
    customer = await customers.get_customer(ctx.session, external_id)
    return CustomerOut.from_record(await subscribers.profile(ctx.session, customer))


@api.route(
    "GET",
    "/customers/{external_id}/timeline",
    summary="A customer's notifications, newest first, each with its deliveries",
    tag="customers",
    scope=READ,
    query=PageQuery,
    response=Page[TimelineEntry],
)
async def customer_timeline(
    ctx: Context, external_id: str, query: PageQuery
) -> Page[TimelineEntry]:
    """A page of the notifications the customer was part of, newest first, each with what
    it was about and its deliveries to them by channel; five queries whatever the page
    size. 404 for an unknown customer, 422 for a bad query or cursor."""
    customer = await customers.get_customer(ctx.session, external_id)
    entries, cursor = await timeline.page(
        ctx.session, customer.id, limit=query.limit, cursor=query.cursor
    )
    return Page(data=[TimelineEntry.from_record(e) for e in entries], next_cursor=cursor)


@api.route(
    "GET",
    "/customers/{external_id}/export",
    summary="Everything held about a customer, as one JSON document (GDPR Art. 15 and 20)",
    tag="customers",
    scope=READ,
    response=PersonalDataOut,
    audit="customer.export",
)
async def export_customer(ctx: Context, external_id: str) -> PersonalDataOut:
    # customers:read already reads all of a customer's personal data (GET, search,
    # deliveries); the export hands out nothing of another kind, so it needs no other
    # scope. Being all of it at once, it is audited, unlike other reads.
    """Every piece of personal data held about the customer (``notifier.personal_data``),
    as an attachment; 404 for an unknown or erased customer."""
    data = await personal_data.export(ctx.session, external_id)
    ctx.target_id = data.customer.id  # the audit log never keeps an external_id
    ctx.headers["Content-Disposition"] = (
        f'attachment; filename="forewarn-customer-{data.customer.id}.json"'
    )
    return PersonalDataOut.from_record(data, now=ctx.now)


@api.route(
    "DELETE",
    "/customers/{external_id}",
    summary="Erase a customer's personal data",
    tag="customers",
    scope=WRITE,
    status=204,
    audit="customer.erase",
)
async def erase_customer(ctx: Context, external_id: str) -> None:
    """Nothing (204): the personal data is erased, the row and anonymous counts of its
    history stay, suppressions as keyed hashes (``notifier.personal_data``)."""
    customer = await personal_data.erase(ctx.session, external_id, secret=_secret(ctx), now=ctx.now)
    ctx.target_id = customer.id  # the audit log keeps no external_id of an erased customer


def _secret(ctx: Context) -> str:
    return ctx.request.app[keys.SETTINGS].secret_key.get_secret_value()
