"""Reports: how well the customers of a subject (an incident, a maintenance or a delivery
problem) were told, and how they rated it; per subject, and per day, week or month.

Every figure is counted in SQL, grouped by subject: the rows read into Python are a few
per subject and channel, never one per delivery. Subjects add up (``Tally.add``), so a
period's figures are its subjects' counts summed, and its times the mean of theirs.

The definitions (the ops API documents them in the same words, ``FORMULAS``):

- audience: the customers with at least one delivery about the subject (any status);
  reached: those with at least one delivery a provider took (sent or delivered).
  A customer's *first delivery* is the earliest ``delivered_at`` (where the provider
  said so) else ``sent_at`` of their reached deliveries. Rating prompts' own
  notifications are not deliveries about the subject.
- times: from the subject's start (an incident's ``started_at``, a maintenance's
  scheduled start, a problem's creation) and from its first posted update to the first
  customer's first delivery, and to the moment the ceil(90% x audience)-th customer got
  their first (null when fewer were ever reached).
- heard from us first: of the customers who contacted support about the subject, the
  share whose first delivery came strictly before their first contact. A contact about
  a component counts for each incident or maintenance listing that component that was
  open at ``contacted_at`` (from ``started_at``, before ``resolved_at``). Customers who
  never contacted are left out: nothing says whether they heard it elsewhere.
- response rate: ratings / prompts sent. CSAT % = share of 4-5 of the CSAT ratings;
  NPS = % of 9-10 minus % of 0-6 of the NPS ratings; CES: the mean, and the share of
  5-7, of the CES ratings. Each is null with a count of 0.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.care.figures import Bucket, Comment, SubjectInfo, SubjectReport, Tally
from notifier.db import UTCDateTime
from notifier.errors import InvalidField, NotFound
from notifier.scales import PromptStatus, Subject
from notifier.schemas.reports import Interval
from notifier.statuses import DeliveryStatus, IncidentKind
from notifier.tables import (
    Contact,
    Delivery,
    DeliveryProblem,
    DeliveryProblemUpdate,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Notification,
    Promise,
    Rating,
    RatingPrompt,
)

# A period's report has at most this many intervals (a year of days, 19 years of weeks).
MAX_INTERVALS = 1000
# A subject's report lists the latest comments, at most this many.
COMMENTS_SHOWN = 100
REACHED = (DeliveryStatus.sent, DeliveryStatus.delivered)
# The notification kinds about each subject (``notifications.add``).
_KINDS = {
    Subject.incident: ("incident_update",),
    Subject.maintenance: ("maintenance_update", "maintenance_reminder"),
    Subject.problem: ("problem_update",),
}
# What a contact calls each subject (``contacts.subject_type``).
_CONTACT_TYPE = {Subject.incident: "incident", Subject.maintenance: "incident"}


async def subject_report(session: AsyncSession, subject: Subject, subject_id: str) -> SubjectReport:
    """The figures of one subject; ``NotFound`` when there is no such subject."""
    infos = await _subjects(session, subject, _table_id(subject) == subject_id)
    if not infos:
        raise NotFound(subject.value, subject_id)
    [info] = infos
    tallies = await _tallies(session, subject, infos, None)
    comments, total = await _comments(session, subject, subject_id)
    return SubjectReport(info, tallies[subject_id], comments, total)


def intervals(start: date, end: date, interval: Interval) -> list[tuple[datetime, datetime]]:
    """The ``[start, end)`` intervals covering the days ``start`` to ``end`` (both whole,
    UTC), aligned to the calendar and cut at the period's ends.

    Raises ``InvalidField`` naming ``to`` when ``end`` is before ``start`` or the period
    has more than ``MAX_INTERVALS`` intervals.
    """
    if end < start:
        raise InvalidField("to", "must be on or after from")
    out: list[tuple[datetime, datetime]] = []
    # Through _next: the day after 9999-12-31 is past what datetime holds.
    stop = _next(_midnight(end), Interval.day)
    here = _midnight(start)
    while here < stop:
        if len(out) == MAX_INTERVALS:
            raise InvalidField("to", f"the period has more than {MAX_INTERVALS} intervals")
        after = min(_next(here, interval), stop)
        out.append((here, after))
        here = after
    return out


async def summary(
    session: AsyncSession, start: date, end: date, interval: Interval
) -> tuple[list[Bucket], Tally]:
    """The period's intervals with the figures of the subjects that started in each, and
    the whole period's. ``InvalidField`` as ``intervals``."""
    spans = intervals(start, end, interval)
    low, high = spans[0][0], spans[-1][1]
    buckets = [Bucket(a, b, Tally()) for a, b in spans]
    total = Tally()
    for subject in Subject:
        start_col = _start(subject)
        where = and_(start_col >= low, start_col < high)
        infos = await _subjects(session, subject, where)
        tallies = await _tallies(session, subject, infos, where)
        for info in infos:
            bucket = next(b for b in buckets if b.start <= info.started_at < b.end)
            bucket.tally.add(tallies[info.id])
            total.add(tallies[info.id])
    return buckets, total


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next(here: datetime, interval: Interval) -> datetime:
    """The start of the interval after the one ``here`` is in (the far future past 9999)."""
    try:
        if interval is Interval.day:
            return here + timedelta(days=1)
        if interval is Interval.week:
            return here + timedelta(days=7 - here.weekday())
        days = calendar.monthrange(here.year, here.month)[1]
        return here.replace(day=1) + timedelta(days=days)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _table_id(subject: Subject) -> Any:
    return DeliveryProblem.id if subject is Subject.problem else Incident.id


def _incident_kind(subject: Subject) -> IncidentKind:
    return IncidentKind.incident if subject is Subject.incident else IncidentKind.maintenance


def _start(subject: Subject) -> Any:
    return DeliveryProblem.created_at if subject is Subject.problem else Incident.started_at


async def _subjects(
    session: AsyncSession, subject: Subject, where: ColumnElement[bool]
) -> list[SubjectInfo]:
    if subject is Subject.problem:
        first = (
            select(func.min(DeliveryProblemUpdate.created_at))
            .where(DeliveryProblemUpdate.problem_id == DeliveryProblem.id)
            .scalar_subquery()
        )
        stmt: Any = select(
            DeliveryProblem.id,
            DeliveryProblem.title,
            DeliveryProblem.created_at,
            type_coerce(first, UTCDateTime),
            DeliveryProblem.resolved_at,
        ).where(where)
    else:
        first = (
            select(func.min(IncidentUpdate.created_at))
            .where(IncidentUpdate.incident_id == Incident.id)
            .scalar_subquery()
        )
        stmt = select(
            Incident.id,
            Incident.title,
            Incident.started_at,
            type_coerce(first, UTCDateTime),
            Incident.resolved_at,
        ).where(where, Incident.kind == _incident_kind(subject))
    return [SubjectInfo(subject, *row) for row in await session.execute(stmt)]


async def _tallies(
    session: AsyncSession,
    subject: Subject,
    infos: Sequence[SubjectInfo],
    where: ColumnElement[bool] | None,
) -> dict[str, Tally]:
    """Each subject's tally (``infos``, which ``where`` selected): seven grouped queries,
    whatever the number of subjects."""
    tallies = {info.id: Tally(subjects=Counter({subject.value: 1})) for info in infos}
    if not infos:
        return tallies
    ids = [info.id for info in infos]
    # A long list of ids is a subquery, not thousands of bound parameters.
    id_set: Any = ids if len(ids) <= 500 or where is None else _id_query(subject, where)
    deliveries = _deliveries(subject, id_set)
    for subject_id, channel, status, n in await session.execute(
        select(
            deliveries.c.subject_id, deliveries.c.channel, deliveries.c.status, func.count()
        ).group_by(deliveries.c.subject_id, deliveries.c.channel, deliveries.c.status)
    ):
        tallies[subject_id].deliveries[channel][status] = n
    firsts = _first_deliveries(deliveries)
    await _timing(session, firsts, {info.id: info for info in infos}, tallies)
    await _heard_first(session, subject, id_set, firsts, tallies)
    if subject is not Subject.problem:
        for incident_id, made, kept, broken in await session.execute(
            select(Promise.incident_id, func.count(), func.count(Promise.kept_at),
                   func.count(Promise.broken_at))
            .where(Promise.incident_id.in_(id_set))
            .group_by(Promise.incident_id)
        ):  # fmt: skip
            tally = tallies[incident_id]
            tally.promises_made, tally.promises_kept, tally.promises_broken = made, kept, broken
    for subject_id, n in await session.execute(
        select(RatingPrompt.subject_id, func.count())
        .where(
            RatingPrompt.subject_type == subject,
            RatingPrompt.subject_id.in_(id_set),
            RatingPrompt.status == PromptStatus.sent,
        )
        .group_by(RatingPrompt.subject_id)
    ):
        tallies[subject_id].prompts_sent = n
    for subject_id, scale, score, n in await session.execute(
        select(Rating.subject_id, Rating.scale, Rating.score, func.count())
        .where(Rating.subject_type == subject, Rating.subject_id.in_(id_set))
        .group_by(Rating.subject_id, Rating.scale, Rating.score)
    ):
        tallies[subject_id].scores[scale][score] = n
    return tallies


def _id_query(subject: Subject, where: ColumnElement[bool]) -> Select[Any]:
    """The ids ``_subjects`` selected with ``where``, as a subquery."""
    if subject is Subject.problem:
        return select(DeliveryProblem.id).where(where)
    return select(Incident.id).where(where, Incident.kind == _incident_kind(subject))


def _deliveries(subject: Subject, id_set: Any) -> Any:
    """The deliveries about the subjects (not their rating prompts), with subject_id."""
    prompt = exists().where(
        RatingPrompt.subject_type == subject,
        RatingPrompt.subject_id == Notification.subject_id,
        RatingPrompt.notification_id == Notification.id,
    )
    return (
        select(
            Notification.subject_id,
            Delivery.customer_id,
            Delivery.channel,
            Delivery.status,
            Delivery.sent_at,
            Delivery.delivered_at,
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Notification.subject_id.in_(id_set),
            Notification.kind.in_(_KINDS[subject]),
            ~prompt,
        )
        .subquery("about")
    )


def _first_deliveries(deliveries: Any) -> Any:
    """(subject_id, customer_id, first): each audience member's first delivery time, null
    for one never reached."""
    reached_at = case(
        (
            deliveries.c.status.in_(REACHED),
            func.coalesce(deliveries.c.delivered_at, deliveries.c.sent_at),
        )
    )
    return (
        select(
            deliveries.c.subject_id,
            deliveries.c.customer_id,
            type_coerce(func.min(reached_at), UTCDateTime).label("first"),
        )
        .group_by(deliveries.c.subject_id, deliveries.c.customer_id)
        .subquery("firsts")
    )


async def _timing(
    session: AsyncSession, firsts: Any, infos: dict[str, SubjectInfo], tallies: dict[str, Tally]
) -> None:
    """Audience, reached, and the times to the first and to the ceil(90%) customer: only
    those two ranks of each subject are read."""
    by_subject = {"partition_by": firsts.c.subject_id}
    ranked = select(
        firsts.c.subject_id,
        firsts.c.first,
        func.row_number()
        .over(**by_subject, order_by=firsts.c.first.asc().nulls_last())
        .label("rank"),
        func.count().over(**by_subject).label("audience"),
        func.count(firsts.c.first).over(**by_subject).label("reached"),
    ).subquery("ranked")
    ninety = (ranked.c.audience * 9 + 9) // 10  # ceil(0.9 x audience), in integers
    rows = await session.execute(
        select(
            ranked.c.subject_id,
            ranked.c.rank,
            ranked.c.audience,
            ranked.c.reached,
            type_coerce(ranked.c.first, UTCDateTime),
            (ranked.c.rank == ninety).label("is_ninety"),
        ).where(or_(ranked.c.rank == 1, ranked.c.rank == ninety))
    )
    for subject_id, rank, audience, reached, first, is_ninety in rows:
        tally, info = tallies[subject_id], infos[subject_id]
        tally.audience, tally.reached = audience, reached
        if first is None:
            continue
        names = (["first_delivery"] if rank == 1 else []) + (["90_percent"] if is_ninety else [])
        for name in names:
            tally.times[f"start_to_{name}"].append((first - info.started_at).total_seconds())
            if info.first_post_at is not None:
                since_post = (first - info.first_post_at).total_seconds()
                tally.times[f"first_post_to_{name}"].append(since_post)


async def _heard_first(
    session: AsyncSession, subject: Subject, id_set: Any, firsts: Any, tallies: dict[str, Tally]
) -> None:
    """Customers who contacted support about each subject, and those of them whose first
    delivery came before their first contact."""
    direct = select(
        Contact.subject_id.label("subject_id"), Contact.customer_id, Contact.contacted_at
    ).where(
        Contact.subject_type == _CONTACT_TYPE.get(subject, subject.value),
        Contact.subject_id.in_(id_set),
    )
    sources = [direct]
    if subject is not Subject.problem:
        sources.append(
            select(Incident.id.label("subject_id"), Contact.customer_id, Contact.contacted_at)
            .join(IncidentComponent, IncidentComponent.component_id == Contact.subject_id)
            .join(Incident, Incident.id == IncidentComponent.incident_id)
            .where(
                Contact.subject_type == "component",
                Incident.id.in_(id_set),
                Incident.started_at <= Contact.contacted_at,
                or_(Incident.resolved_at.is_(None), Contact.contacted_at < Incident.resolved_at),
            )
        )
    contacts = union_all(*sources).subquery("contacts")
    first_contacts = (
        select(
            contacts.c.subject_id,
            contacts.c.customer_id,
            func.min(contacts.c.contacted_at).label("contacted"),
        )
        .group_by(contacts.c.subject_id, contacts.c.customer_id)
        .subquery("first_contacts")
    )
    before = case((firsts.c.first < first_contacts.c.contacted, literal(1)), else_=literal(0))
    for subject_id, contacted, heard_first in await session.execute(
        select(first_contacts.c.subject_id, func.count(), func.sum(before))
        .select_from(first_contacts)
        .outerjoin(
            firsts,
            and_(
                firsts.c.subject_id == first_contacts.c.subject_id,
                firsts.c.customer_id == first_contacts.c.customer_id,
            ),
        )
        .group_by(first_contacts.c.subject_id)
    ):
        tallies[subject_id].contacted = contacted
        tallies[subject_id].heard_first = int(heard_first or 0)


async def _comments(
    session: AsyncSession, subject: Subject, subject_id: str
) -> tuple[list[Comment], int]:
    where = (
        Rating.subject_type == subject,
        Rating.subject_id == subject_id,
        Rating.comment.is_not(None),
        Rating.comment != "",
    )
    total = await session.scalar(select(func.count()).select_from(Rating).where(*where))
    rows = await session.execute(
        select(Rating.scale, Rating.score, Rating.comment, Rating.channel, Rating.updated_at)
        .where(*where)
        .order_by(Rating.updated_at.desc(), Rating.id.desc())
        .limit(COMMENTS_SHOWN)
    )
    comments = [Comment(r.scale, r.score, r.comment or "", r.channel, r.updated_at) for r in rows]
    return comments, total or 0
