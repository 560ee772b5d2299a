"""Customers known by the business's own ``external_id``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.errors import NotFound
from notifier.pagination import paginate
from notifier.schemas.common import PageQuery
from notifier.schemas.customers import CustomerPut
from notifier.tables import Customer


async def upsert_customer(
    session: AsyncSession, external_id: str, body: CustomerPut, *, now: datetime
) -> tuple[Customer, bool]:
    """Create or replace the customer; returns it and whether it was created."""
    customer = await session.scalar(select(Customer).where(Customer.external_id == external_id))
    created = customer is None
    if customer is None:
        customer = Customer(external_id=external_id, created_at=now)
        session.add(customer)
    for field, value in body.model_dump().items():
        setattr(customer, field, value)
    customer.updated_at = now
    await session.flush()
    return customer, created


async def get_customer(session: AsyncSession, external_id: str) -> Customer:
    customer = await session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        raise NotFound("customer", external_id)
    return customer


async def list_customers(
    session: AsyncSession, query: PageQuery
) -> tuple[Sequence[Customer], str | None]:
    stmt = select(Customer).where(Customer.erased_at.is_(None))
    return await paginate(
        session, stmt, Customer.created_at, Customer.id, limit=query.limit, cursor=query.cursor
    )


async def erase_customer(session: AsyncSession, external_id: str, *, now: datetime) -> Customer:
    """Erase the personal data; the row stays so that history keeps its shape."""
    customer = await get_customer(session, external_id)
    customer.external_id = None
    customer.name = customer.email = customer.phone = None
    customer.erased_at = customer.updated_at = now
    await session.flush()
    return customer
