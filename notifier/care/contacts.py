"""Contacts: a customer reached support about a subject, as a helpdesk records it.

The reports compare them with the customer's first delivery about the subject: the
heard-from-us-first rate (``notifier.care.reports``). A helpdesk integration may send
the same ticket again (a retry, a re-sync): with its ``external_id`` it is recorded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.customers import get_customer
from notifier.db import new_id
from notifier.errors import Conflict, NotFound, UnknownReference
from notifier.pagination import paginate
from notifier.schemas.care import ContactCreate, ContactQuery, ContactSubject
from notifier.tables import Component, Contact, Customer, DeliveryProblem, Incident

# The id column of each kind of subject (a maintenance is an incident row).
_SUBJECT_IDS = {
    ContactSubject.incident: Incident.id,
    ContactSubject.problem: DeliveryProblem.id,
    ContactSubject.component: Component.id,
}


async def record(
    session: AsyncSession, body: ContactCreate, *, now: datetime
) -> tuple[Contact, bool]:
    """Record the contact (recorded at ``now``); -> (the row, whether it is new).

    With an ``external_id`` already recorded, the contact recorded first (not new) when
    the request says the same, ``Conflict`` (``external_id``) when it says otherwise.
    ``UnknownReference`` names ``customer`` (no live customer has that external_id) or
    ``subject_id`` (no incident, delivery problem or component of ``subject_type`` has it).
    """
    try:
        customer = await get_customer(session, body.customer)
    except NotFound:
        raise UnknownReference("customer", "no customer has this external_id") from None
    column = _SUBJECT_IDS[body.subject_type]
    if await session.scalar(select(column).where(column == body.subject_id)) is None:
        raise UnknownReference("subject_id", f"no {body.subject_type} has this id")
    values = {
        "id": new_id(),
        "customer_id": customer.id,
        "subject_type": body.subject_type.value,
        "subject_id": body.subject_id,
        "channel": body.channel.value,
        "contacted_at": body.contacted_at,
        "external_id": body.external_id,
        "created_at": now,
    }
    # ON CONFLICT DO NOTHING: of two requests with one external_id at once, one inserts.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = await session.scalar(
        dialect.insert(Contact).values(values).on_conflict_do_nothing().returning(Contact.id)
    )
    if inserted is not None:
        contact = await session.get(Contact, inserted)
        assert contact is not None
        return contact, True
    assert body.external_id is not None  # the only unique column a request sets
    seen = await session.scalar(select(Contact).where(Contact.external_id == body.external_id))
    assert seen is not None
    if any(getattr(seen, name) != values[name] for name in _DETAILS):
        raise Conflict(
            "a contact with this external_id was recorded with other details",
            field="external_id",
        )
    return seen, False


_DETAILS = ("customer_id", "subject_type", "subject_id", "channel", "contacted_at")


async def list_contacts(
    session: AsyncSession, query: ContactQuery
) -> tuple[Sequence[Contact], str | None]:
    """A page of contacts, newest recorded first, of one subject type and/or id; and the
    next page's cursor. ``InvalidField`` (``cursor``) for a cursor this API did not give."""
    stmt = select(Contact)
    if query.subject_type is not None:
        stmt = stmt.where(Contact.subject_type == query.subject_type)
    if query.subject_id is not None:
        stmt = stmt.where(Contact.subject_id == query.subject_id)
    return await paginate(
        session, stmt, Contact.created_at, Contact.id, limit=query.limit, cursor=query.cursor
    )


async def external_ids(session: AsyncSession, contacts: Sequence[Contact]) -> dict[str, str | None]:
    """customer id -> their external_id (None once erased), for ``contacts``' customers."""
    ids = {c.customer_id for c in contacts}
    if not ids:
        return {}
    found = await session.execute(
        select(Customer.id, Customer.external_id).where(Customer.id.in_(ids))
    )
    return {ident: external_id for ident, external_id in found}
