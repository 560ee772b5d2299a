from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from notifier.schemas.common import Input, Output, PageQuery
from notifier.statuses import ProblemKind, ProblemStatus


class ProblemCreate(Input):
    reference: str = Field(
        min_length=1, max_length=200, description="Order, shipment or booking number."
    )
    kind: ProblemKind
    title: str = Field(default="", max_length=300)
    body: str = Field(min_length=1, max_length=20_000, description="What the customers are told.")
    eta: AwareDatetime | None = Field(default=None, description="The new expected time.")
    customers: list[str] = Field(
        min_length=1, max_length=10_000, description="external_id of each affected customer."
    )
    notify: bool = True


class ProblemUpdateCreate(Input):
    status: ProblemStatus = ProblemStatus.in_progress
    body: str = Field(min_length=1, max_length=20_000)
    eta: AwareDatetime | None = None
    notify: bool = True


class ProblemResolve(Input):
    body: str = Field(default="This has been resolved.", min_length=1, max_length=20_000)
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
    reference: str | None = None
