"""Ops API: customers by the business's own id (upsert, read, search, erase)."""

from __future__ import annotations

from notifier import customers, subscribers
from notifier.schemas.common import PageQuery
from notifier.schemas.customers import CustomerPut, CustomerSearch
from status_page.api.models.common import Page
from status_page.api.models.customers import CustomerOut
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
    customer, created = await customers.upsert_customer(ctx.session, external_id, body, now=ctx.now)
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
    "DELETE",
    "/customers/{external_id}",
    summary="Erase a customer's personal data",
    tag="customers",
    scope=WRITE,
    status=204,
    audit="customer.erase",
)
async def erase_customer(ctx: Context, external_id: str) -> None:
    """Nothing (204): the personal data is erased, the row and its history stay."""
    customer = await customers.erase_customer(ctx.session, external_id, now=ctx.now)
    ctx.target_id = customer.id  # the audit log keeps no external_id of an erased customer
