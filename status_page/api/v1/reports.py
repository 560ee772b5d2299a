"""Ops API: reports of how customers were told and how they rated it, per subject and
per period; JSON, or CSV with the same figures for ``Accept: text/csv``."""

from __future__ import annotations

from notifier.care import figures, reports
from notifier.errors import InvalidField
from notifier.scales import Subject
from notifier.schemas.reports import SummaryQuery
from status_page.api.errors import ApiError, FieldError
from status_page.api.models.reports import (
    IntervalOut,
    SubjectReportOut,
    SummaryOut,
    csv_rows,
)
from status_page.api.routing import Api, Context

api = Api("/api/v1")

_CSV = (
    "`Accept: text/csv` gives the same figures as CSV (one header line; nested names "
    "joined by `_`, e.g. `heard_first_percent`; null is an empty cell)."
)


def _subject_csv(report: SubjectReportOut) -> str:
    return csv_rows([(f"{report.subject.type}/{report.subject.id}", report)])


def _summary_csv(summary: SummaryOut) -> str:
    rows = [(item.start.date().isoformat(), item) for item in summary.intervals]
    return csv_rows([*rows, ("total", summary.total)])


@api.route(
    "GET",
    "/reports/subjects/{subject_type}/{subject_id}",
    summary="How the customers of an incident, maintenance or delivery problem were told, "
    "and how they rated it",
    tag="reports",
    scope="read",
    response=SubjectReportOut,
    description="Delivery, promise, heard-from-us-first and rating figures; each "
    "formula is in its field's description. " + _CSV,
    csv=_subject_csv,
)
async def subject_report(ctx: Context, subject_type: str, subject_id: str) -> SubjectReportOut:
    """The subject's figures (the formulas are in the response's field descriptions);
    404 for an unknown subject."""
    report = await reports.subject_report(ctx.session, Subject(subject_type), subject_id)
    return SubjectReportOut.from_report(report)


@api.route(
    "GET",
    "/reports/summary",
    summary="The report figures of the subjects that started in each day, week or month "
    "of a period",
    tag="reports",
    scope="read",
    query=SummaryQuery,
    response=SummaryOut,
    description="The subject report's figures summed over the subjects (incidents, "
    "maintenance, delivery problems) that started in each interval: counts summed, "
    "percentages recomputed from the sums, times averaged over the subjects. Intervals "
    "are calendar days, ISO weeks or months in UTC, cut at `from` and at the end of `to`; "
    "the CSV has one row per interval (named by its first day) and a last row `total`. " + _CSV,
    csv=_summary_csv,
)
async def summary(ctx: Context, query: SummaryQuery) -> SummaryOut:
    """The period's intervals, each with the figures of the subjects that started in it;
    422 naming ``to`` when it is before ``from`` or the period has over 1,000 intervals."""
    try:
        buckets, total = await reports.summary(ctx.session, query.from_, query.to, query.interval)
    except InvalidField as exc:
        error = FieldError(
            location="query", field=exc.field, pointer=f"/{exc.field}", detail=exc.detail
        )
        raise ApiError(422, "the request query is not valid", [error]) from None
    whole = figures.Bucket(buckets[0].start, buckets[-1].end, total)
    return SummaryOut(
        first_day=query.from_,
        last_day=query.to,
        interval=query.interval,
        intervals=[IntervalOut.from_bucket(b) for b in buckets],
        total=IntervalOut.from_bucket(whole),
    )
