from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.schemas.common import Input, Output, PageQuery
from notifier.schemas.fields import Body, ExternalId, Filter, Instant, Name, OptionalTitle
from notifier.statuses import ProblemKind, ProblemStatus


class ProblemCreate(Input):
    reference: Name = Field(description="Order, shipment or booking number.")
    kind: ProblemKind
    title: OptionalTitle = ""
    body: Body = Field(description="What the customers are told (Markdown).")
    eta: Instant | None = Field(default=None, description="The new expected time.")
    customers: list[ExternalId] = Field(
        min_length=1, max_length=10_000, description="external_id of each affected customer."
    )
    notify: bool = True


class ProblemUpdateCreate(Input):
    status: ProblemStatus = ProblemStatus.in_progress
    body: Body
    eta: Instant | None = None
    notify: bool = True


class ProblemResolve(Input):
    body: Body = "This has been resolved."
    notify: bool = True


class ProblemUpdateOut(Output):
    id: str
    status: ProblemStatus
    body: str
    eta: datetime | None
    notify: bool
    posted_by: str
    created_at: datetime


class ProblemOut(Output):
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


class ProblemQuery(PageQuery):
    status: ProblemStatus | None = None
    kind: ProblemKind | None = None
    reference: Filter | None = None
