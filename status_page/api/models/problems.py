"""Delivery problems and their updates, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.statuses import ProblemKind, ProblemStatus
from notifier.tables import DeliveryProblem
from status_page.api.models.common import Output

# What ``customers`` shows for a customer erased since (the row stays, not its id).
ERASED = "(erased)"


class ProblemUpdateOut(Output):
    """One update of a delivery problem. Times are RFC 3339, in UTC."""

    id: str
    status: ProblemStatus
    body: str
    eta: datetime | None
    notify: bool
    posted_by: str
    created_at: datetime


class ProblemOut(Output):
    """A delivery problem, its affected customers and its updates. Times are RFC 3339, in UTC."""

    id: str
    reference: str
    kind: ProblemKind
    status: ProblemStatus
    title: str
    eta: datetime | None
    customers: list[str] = Field(description="external_id of each affected customer.")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: list[ProblemUpdateOut] = Field(description="Newest first.")

    @classmethod
    def from_record(cls, problem: DeliveryProblem) -> ProblemOut:
        """From a ``DeliveryProblem`` row; its customers and updates load with it (selectin)."""
        return cls(
            id=problem.id,
            reference=problem.reference,
            kind=problem.kind,
            status=problem.status,
            title=problem.title,
            eta=problem.eta,
            customers=[c.external_id or ERASED for c in problem.customers],
            created_at=problem.created_at,
            updated_at=problem.updated_at,
            resolved_at=problem.resolved_at,
            updates=[ProblemUpdateOut.model_validate(u) for u in problem.updates],
        )
