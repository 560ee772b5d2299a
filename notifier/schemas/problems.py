"""Request bodies and queries for delivery problems."""

from __future__ import annotations

from pydantic import Field

from notifier.schemas.common import Input, PageQuery
from notifier.schemas.fields import (
    URGENT,
    Body,
    ExternalId,
    Filter,
    Instant,
    Name,
    OptionalTitle,
)
from notifier.statuses import ProblemKind, ProblemStatus


class ProblemCreate(Input):
    """A new delivery problem, the customers it affects and what they are told."""

    reference: Name = Field(description="Order, shipment or booking number.")
    kind: ProblemKind
    title: OptionalTitle = ""
    body: Body = Field(description="What the customers are told (Markdown).")
    eta: Instant | None = Field(default=None, description="The new expected time.")
    customers: list[ExternalId] = Field(
        min_length=1, max_length=10_000, description="external_id of each affected customer."
    )
    notify: bool = True
    urgent: bool = URGENT


class ProblemUpdateCreate(Input):
    """An update of a delivery problem: its status, what to tell, a new ETA."""

    status: ProblemStatus = ProblemStatus.in_progress
    body: Body
    eta: Instant | None = None
    notify: bool = True
    urgent: bool = URGENT


class ProblemResolve(Input):
    """The last update of a delivery problem, which resolves it."""

    body: Body = "This has been resolved."
    notify: bool = True
    urgent: bool = URGENT


class ProblemQuery(PageQuery):
    """A page of delivery problems, newest first, optionally filtered."""

    status: ProblemStatus | None = None
    kind: ProblemKind | None = None
    reference: Filter | None = None
