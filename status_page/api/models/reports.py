"""Reports as the ops API answers them: one subject's figures, and a period's.

The formulas are in the field descriptions, so the document states them; they are
computed by ``notifier.care.reports``. Percentages are 0 to 100 with 2 decimals, times
are seconds with 3 decimals, and a figure with nothing to count (no ratings, no
contacts...) is null while its count says 0.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from notifier.care.figures import Bucket, SubjectReport, Tally, percent
from notifier.scales import Scale, Subject
from notifier.schemas.reports import Interval
from notifier.statuses import ChannelName, DeliveryStatus
from status_page.api.models.common import Output

_FIRST = (
    "A customer's first delivery is their earliest delivery about the subject that a "
    "provider took (status sent or delivered): its delivered_at where the provider "
    "reported delivery, else its sent_at."
)
_MEAN = " Over a period: the mean over its subjects that have one."


class Times(Output):
    """How long it took to tell them, in seconds. The start is an incident's started_at,
    a maintenance's scheduled start, a delivery problem's creation; the first post is the
    subject's first update. 90%: the moment the ceil(0.9 x audience)-th customer got their
    first delivery; null when fewer were reached."""

    start_to_first_delivery: float | None = Field(
        description="Seconds from the start to the first customer's first delivery. "
        + _FIRST
        + _MEAN
    )
    start_to_90_percent: float | None = Field(
        description="Seconds from the start until 90% of the audience had a first delivery." + _MEAN
    )
    first_post_to_first_delivery: float | None = Field(
        description="Seconds from the first update posted to the first delivery." + _MEAN
    )
    first_post_to_90_percent: float | None = Field(
        description="Seconds from the first update posted until 90% of the audience had a "
        "first delivery." + _MEAN
    )


class ChannelFigures(Output):
    """One channel's deliveries about the subject (rating prompts not included)."""

    deliveries: int = Field(description="Delivery rows, any status.")
    sent: int = Field(description="Taken by the provider, delivery not (yet) reported.")
    delivered: int = Field(description="Reported delivered by the provider.")
    failed: int = Field(description="Failed or bounced.")
    suppressed: int = Field(description="Not sent: no consent, or a suppressed address.")
    other: int = Field(description="Pending, sending, held, parked or folded.")
    delivery_rate: float | None = Field(
        description="(sent + delivered) / deliveries x 100; null without deliveries."
    )


class Channels(Output):
    """Delivery figures per channel."""

    email: ChannelFigures
    sms: ChannelFigures
    inapp: ChannelFigures


class Promises(Output):
    """Promised next updates ("next update by 15:30") of incidents and maintenance."""

    made: int
    kept: int = Field(description="An update (or the resolution) came by the promised time.")
    broken: int = Field(description="The promised time passed without an update.")
    open: int = Field(description="Made, not yet kept nor broken.")
    kept_percent: float | None = Field(
        description="kept / (kept + broken) x 100; null when none is settled."
    )


class HeardFirst(Output):
    """Did customers hear about it from us before they contacted support?"""

    contacted: int = Field(
        description="Customers who contacted support about the subject (recorded contacts: "
        "about it directly, or about a component it listed while it was open: from its "
        "started_at, before its resolved_at)."
    )
    heard_first: int = Field(
        description="Of those, customers whose first delivery came strictly before their "
        "first contact. " + _FIRST
    )
    percent: float | None = Field(
        description="heard_first / contacted x 100; null when nobody contacted support. "
        "Customers who never contacted support are left out: it measures whether those "
        "who complained had heard from us first."
    )


class Responses(Output):
    """Rating prompts and answers."""

    prompts_sent: int = Field(description="Rating prompts sent.")
    responses: int = Field(description="Ratings given (a changed score counts once).")
    response_rate: float | None = Field(
        description="responses / prompts_sent x 100; null when no prompt was sent."
    )


class Csat(Output):
    """Customer satisfaction, 1-5."""

    count: int = Field(description="CSAT ratings.")
    percent: float | None = Field(
        description="Ratings of 4 or 5 / count x 100; null when count is 0."
    )


class Nps(Output):
    """Net Promoter Score, 0-10."""

    count: int = Field(description="NPS ratings.")
    promoters: int = Field(description="Ratings of 9 or 10.")
    passives: int = Field(description="Ratings of 7 or 8.")
    detractors: int = Field(description="Ratings of 0 to 6.")
    score: float | None = Field(
        description="(promoters - detractors) / count x 100, from -100 to 100; null when "
        "count is 0 (all passives: 0)."
    )


class Ces(Output):
    """Customer effort, 1-7 agreement with "It was easy to get the information I needed"."""

    count: int = Field(description="CES ratings.")
    mean: float | None = Field(description="The mean rating; null when count is 0.")
    percent: float | None = Field(
        description="Ratings of 5 to 7 / count x 100; null when count is 0."
    )


class Figures(Output):
    """The figures of one subject, or of the subjects of one interval summed."""

    audience: int = Field(
        description="Customers with at least one delivery about the subject, any status "
        "(over a period: summed over its subjects)."
    )
    reached: int = Field(description="Of those, customers with a delivery sent or delivered.")
    times: Times
    channels: Channels
    promises: Promises
    heard_first: HeardFirst
    ratings: Responses
    csat: Csat
    nps: Nps
    ces: Ces

    @staticmethod
    def figures(tally: Tally) -> dict[str, Any]:
        """The fields of a ``Tally``, to construct a subclass with."""
        scores = tally.scores
        nps = scores.get(Scale.nps, Counter[int]())
        made, kept, broken = tally.promises_made, tally.promises_kept, tally.promises_broken
        return {
            "audience": tally.audience,
            "reached": tally.reached,
            "times": Times(**{name: tally.time(name) for name in Times.model_fields}),
            "channels": Channels(**{c.value: _channel(tally, c) for c in ChannelName}),
            "promises": Promises(
                made=made,
                kept=kept,
                broken=broken,
                open=made - kept - broken,
                kept_percent=percent(kept, kept + broken),
            ),
            "heard_first": HeardFirst(
                contacted=tally.contacted,
                heard_first=tally.heard_first,
                percent=percent(tally.heard_first, tally.contacted),
            ),
            "ratings": Responses(
                prompts_sent=tally.prompts_sent,
                responses=tally.responses,
                response_rate=percent(tally.responses, tally.prompts_sent),
            ),
            "csat": Csat(
                count=sum(scores.get(Scale.csat, {}).values()),
                percent=tally.share(Scale.csat, 4, 5),
            ),
            "nps": Nps(
                count=sum(nps.values()),
                promoters=sum(n for s, n in nps.items() if s >= 9),
                passives=sum(n for s, n in nps.items() if 7 <= s <= 8),
                detractors=sum(n for s, n in nps.items() if s <= 6),
                score=tally.nps(),
            ),
            "ces": Ces(
                count=sum(scores.get(Scale.ces, {}).values()),
                mean=tally.mean(Scale.ces),
                percent=tally.share(Scale.ces, 5, 7),
            ),
        }


_FAILED = (DeliveryStatus.failed, DeliveryStatus.bounced)


def _channel(tally: Tally, channel: ChannelName) -> ChannelFigures:
    counts = tally.deliveries.get(channel, Counter[str]())
    total = sum(counts.values())
    sent = counts.get(DeliveryStatus.sent, 0)
    delivered = counts.get(DeliveryStatus.delivered, 0)
    failed = sum(counts.get(s, 0) for s in _FAILED)
    suppressed = counts.get(DeliveryStatus.suppressed, 0)
    return ChannelFigures(
        deliveries=total,
        sent=sent,
        delivered=delivered,
        failed=failed,
        suppressed=suppressed,
        other=total - sent - delivered - failed - suppressed,
        delivery_rate=percent(sent + delivered, total),
    )


class SubjectOut(Output):
    """The subject of a report. Times are RFC 3339, in UTC."""

    type: Subject
    id: str
    title: str
    started_at: datetime
    first_post_at: datetime | None
    resolved_at: datetime | None


class CommentOut(Output):
    """A rating's comment (who gave it is in the follow-ups, not here)."""

    scale: Scale
    score: int
    comment: str
    channel: str
    at: datetime = Field(description="When the rating was last given or changed.")


class SubjectReportOut(Figures):
    """One incident's, maintenance's or delivery problem's report."""

    subject: SubjectOut
    comments: list[CommentOut] = Field(description="The latest comments, at most 100.")
    comments_total: int

    @classmethod
    def from_report(cls, report: SubjectReport) -> SubjectReportOut:
        """From ``reports.subject_report``'s answer."""
        info = report.subject
        return cls(
            subject=SubjectOut(
                type=info.type,
                id=info.id,
                title=info.title,
                started_at=info.started_at,
                first_post_at=info.first_post_at,
                resolved_at=info.resolved_at,
            ),
            comments=[CommentOut.model_validate(c) for c in report.comments],
            comments_total=report.comments_total,
            **cls.figures(report.tally),
        )


class SubjectCounts(Output):
    """How many subjects of each type started in the interval."""

    incident: int
    maintenance: int
    problem: int


class IntervalOut(Figures):
    """One interval: the subjects that started in it (an incident's started_at, a
    maintenance's scheduled start, a problem's creation), their figures summed (counts,
    and percentages recomputed from the sums) and their times averaged."""

    start: datetime = Field(description="The interval's first moment (UTC).")
    end: datetime = Field(description="The moment after its last (UTC), exclusive.")
    subjects: SubjectCounts

    @classmethod
    def from_bucket(cls, bucket: Bucket) -> IntervalOut:
        """From one of ``reports.summary``'s intervals (or its whole period)."""
        subjects = SubjectCounts(**{s.value: bucket.tally.subjects[s.value] for s in Subject})
        return cls(
            start=bucket.start, end=bucket.end, subjects=subjects, **cls.figures(bucket.tally)
        )


class SummaryOut(Output):
    """A period's figures, interval by interval, and in total."""

    first_day: date
    last_day: date
    interval: Interval
    intervals: list[IntervalOut]
    total: IntervalOut = Field(description="The whole period, as one interval.")


def csv_rows(rows: list[tuple[str, BaseModel]]) -> str:
    """CSV (RFC 4180, with a header line) of ``rows``: a first column ``row`` naming each,
    then every number of the model, nested names joined by ``_``
    (``heard_first_percent``); null is an empty cell. Lists (comments) are left out."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, (name, model) in enumerate(rows):
        cells = dict(_flat(model.model_dump(mode="json")))
        if index == 0:
            writer.writerow(["row", *cells])
        writer.writerow([name, *("" if v is None else v for v in cells.values())])
    return out.getvalue()


def _flat(value: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, item in value.items():
        if isinstance(item, dict):
            yield from _flat(item, f"{prefix}{key}_")
        elif not isinstance(item, list):
            yield f"{prefix}{key}", item
