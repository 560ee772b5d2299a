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
    customer = await customers.erase_customer(ctx.session, external_id, now=ctx.now)
    ctx.target_id = customer.id  # the audit log keeps no external_id of an erased customer
