"""Delivery problems: a late, failed or lost delivery for named customers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier import events, notifications
from notifier.audience_rule import AudienceRule
from notifier.db import new_id
from notifier.errors import Conflict, NotFound, UnknownReference
from notifier.pagination import paginate
from notifier.schemas.problems import (
    ProblemCreate,
    ProblemQuery,
    ProblemResolve,
    ProblemUpdateCreate,
)
from notifier.statuses import ProblemStatus
from notifier.tables import Customer, DeliveryProblem, DeliveryProblemUpdate


async def create_problem(
    session: AsyncSession, body: ProblemCreate, *, posted_by: str, now: datetime
) -> DeliveryProblem:
    """Open a delivery problem for the named customers, with its first update.

    A notification (when ``notify``) reaches those customers whatever they follow.
    ``UnknownReference`` (``customers[i]``) for an external_id no customer has.
    """
    customers = await _customers_for_field(session, body.customers)
    problem = DeliveryProblem(
        reference=body.reference,
        kind=body.kind,
        status=ProblemStatus.open,
        title=body.title,
        eta=body.eta,
        created_at=now,
        updated_at=now,
        customers=customers,
        updates=[],
    )
    session.add(problem)
    await session.flush()
    _add_update(
        session,
        problem,
        ProblemStatus.open,
        body.body,
        body.eta,
        body.notify,
        posted_by,
        now,
        urgent=body.urgent,
    )
    await session.flush()
    return problem


async def get_problem(session: AsyncSession, problem_id: str) -> DeliveryProblem:
    """The delivery problem with this id; ``NotFound`` when there is none."""
    problem = await session.get(DeliveryProblem, problem_id)
    if problem is None:
        raise NotFound("delivery problem", problem_id)
    return problem


async def list_problems(
    session: AsyncSession, query: ProblemQuery
) -> tuple[Sequence[DeliveryProblem], str | None]:
    """A page of delivery problems, newest first, filtered by ``query``; and the next cursor.

    ``InvalidField`` (``cursor``) for a cursor this API did not hand out.
    """
    stmt = select(DeliveryProblem)
    if query.status is not None:
        stmt = stmt.where(DeliveryProblem.status == query.status)
    if query.kind is not None:
        stmt = stmt.where(DeliveryProblem.kind == query.kind)
    if query.reference is not None:
        stmt = stmt.where(DeliveryProblem.reference == query.reference)
    return await paginate(
        session,
        stmt,
        DeliveryProblem.created_at,
        DeliveryProblem.id,
        limit=query.limit,
        cursor=query.cursor,
    )


async def post_update(
    session: AsyncSession,
    problem_id: str,
    body: ProblemUpdateCreate,
    *,
    posted_by: str,
    now: datetime,
) -> DeliveryProblem:
    """Post an update: new status, body, new ETA (kept when None); a notification if asked.

    ``NotFound`` for an unknown id; ``Conflict`` once the problem is resolved.
    """
    problem = await get_problem(session, problem_id)
    if problem.status == ProblemStatus.resolved:
        raise Conflict("the delivery problem is resolved and can no longer change")
    problem.status = body.status
    if body.status is ProblemStatus.resolved:
        problem.resolved_at = now
    if body.eta is not None:
        problem.eta = body.eta
    problem.updated_at = now
    _add_update(
        session,
        problem,
        body.status,
        body.body,
        body.eta,
        body.notify,
        posted_by,
        now,
        urgent=body.urgent,
    )
    await session.flush()
    return problem


async def resolve(
    session: AsyncSession, problem_id: str, body: ProblemResolve, *, posted_by: str, now: datetime
) -> DeliveryProblem:
    """Resolve the delivery problem with a last update; errors as ``post_update``."""
    update = ProblemUpdateCreate(
        status=ProblemStatus.resolved, body=body.body, notify=body.notify, urgent=body.urgent
    )
    return await post_update(session, problem_id, update, posted_by=posted_by, now=now)


def _add_update(
    session: AsyncSession,
    problem: DeliveryProblem,
    status: ProblemStatus,
    text: str,
    eta: datetime | None,
    notify: bool,
    posted_by: str,
    now: datetime,
    *,
    urgent: bool = False,
) -> None:
    update = DeliveryProblemUpdate(
        id=new_id(),
        problem_id=problem.id,
        status=status,
        body=text,
        eta=eta,
        notify=notify,
        posted_by=posted_by,
        created_at=now,
    )
    session.add(update)
    problem.updates.insert(0, update)
    if notify:
        notifications.add(
            session,
            kind="problem_update",
            event=events.of_problem(status, first=len(problem.updates) == 1),
            subject_id=problem.id,
            update_id=update.id,
            audience=AudienceRule.of_problem(problem.id),
            now=now,
            urgent=urgent,
        )


async def _customers_for_field(session: AsyncSession, external_ids: list[str]) -> list[Customer]:
    found = {
        c.external_id: c
        for c in await session.scalars(
            select(Customer).where(Customer.external_id.in_(external_ids))
        )
    }
    for index, external_id in enumerate(external_ids):
        if external_id not in found:
            raise UnknownReference(
                f"customers[{index}]", f"no customer with external_id {external_id!r}"
            )
    # In the order the relationship loads them, so that create and get answer alike.
    return sorted(found.values(), key=lambda c: c.external_id or "")
