"""Customers known by the business's own ``external_id``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import subscribers, suppressions
from notifier.errors import Conflict, InvalidField, NotFound
from notifier.pagination import paginate
from notifier.schemas.common import PageQuery
from notifier.schemas.customers import CustomerPut, CustomerSearch
from notifier.statuses import ChannelName, ConsentMethod
from notifier.tables import Customer
from notifier.tables.customers import address_of


async def upsert_customer(
    session: AsyncSession, external_id: str, body: CustomerPut, *, secret: str, now: datetime
) -> tuple[Customer, bool]:
    """Create or replace the customer; returns it and whether it was created.

    The row is claimed with INSERT ... ON CONFLICT DO NOTHING, so that concurrent
    PUTs of a new external_id make one customer instead of a unique-key 500. An
    address suppressed before its last customer was erased is suppressed again
    (``suppressions.rearm``; ``secret`` is ``FOREWARN_SECRET_KEY``).
    """
    await _unique_inapp_user(session, external_id, body.inapp_user_id)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    claimed = await session.execute(
        insert(Customer)
        .values(external_id=external_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Customer.external_id])
    )
    created = bool(claimed.rowcount)  # type: ignore[attr-defined]
    customer = await get_customer(session, external_id)
    user_before = customer.inapp_user_id
    for field, value in body.model_dump(exclude={"consent", "follows"}).items():
        setattr(customer, field, value)
    customer.updated_at = now
    await session.flush()
    for addressed in (ChannelName.email, ChannelName.sms):
        address = address_of(customer, addressed)
        if address is not None:
            await suppressions.rearm(session, secret, addressed, address)
    if body.consent is not None:
        for channel in body.consent.channels:
            await subscribers.grant(
                session,
                customer,
                channel,
                method=ConsentMethod.imported,
                legal_basis=body.consent.legal_basis,
                now=now,
            )
    if body.inapp_user_id and (
        body.inapp_user_id != user_before
        or not await subscribers.revoked(session, customer.id, ChannelName.inapp)
    ):
        # The host application vouches for its signed-in user: that is the consent. But
        # one who turned in-app off (the manage page) stays off when the same user id is
        # PUT again, as host applications do at each sign-in.
        await subscribers.grant(
            session, customer, ChannelName.inapp, method=ConsentMethod.in_app_identity, now=now
        )
    if body.follows is not None:
        await subscribers.set_follows(session, customer, body.follows)
    await session.flush()
    return customer, created


async def _unique_inapp_user(
    session: AsyncSession, external_id: str, inapp_user_id: str | None
) -> None:
    if inapp_user_id is None:
        return
    other = await session.scalar(
        select(Customer.id).where(
            Customer.inapp_user_id == inapp_user_id, Customer.external_id != external_id
        )
    )
    if other is not None:
        raise Conflict("another customer already has this in-app user id", field="inapp_user_id")


async def get_customer(session: AsyncSession, external_id: str) -> Customer:
    """The customer known by ``external_id``; ``NotFound`` if there is none."""
    customer = await session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        raise NotFound("customer", external_id)
    return customer


async def list_customers(
    session: AsyncSession, query: PageQuery
) -> tuple[Sequence[Customer], str | None]:
    """A page of customers not erased, oldest first, and the next page's cursor (None at the
    end)."""
    stmt = select(Customer).where(Customer.erased_at.is_(None))
    return await paginate(
        session, stmt, Customer.created_at, Customer.id, limit=query.limit, cursor=query.cursor
    )


async def find_customers(
    session: AsyncSession, search: CustomerSearch
) -> tuple[Sequence[Customer], str | None]:
    """Customers by email address or phone number (how an erasure request arrives).

    ``InvalidField`` unless exactly one of them is given. Both forms store them
    normalised (lower case, E.164), as ``search`` has them.
    """
    given = search.model_fields_set & {"email", "phone"}
    if len(given) != 1:
        field = "phone" if given == {"email", "phone"} else "email"
        raise InvalidField(field, "give either email or phone, not both or neither")
    match = Customer.email == search.email if search.email else Customer.phone == search.phone
    stmt = select(Customer).where(match, Customer.erased_at.is_(None))
    return await paginate(
        session, stmt, Customer.created_at, Customer.id, limit=search.limit, cursor=search.cursor
    )
