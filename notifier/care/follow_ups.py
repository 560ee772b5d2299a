"""Follow-ups of low ratings: listed for ops, marked done with a note, and told on call.

``ratings.record`` opens a follow-up for each unhappy answer (``Scale.is_low``). Ops see
them through the API (open ones first) with who answered, about what, the score, comment
and channel; a person reaches out and marks the follow-up done with a note. Each new one
is announced once to everyone on call (``notifier.delivery.on_call``): the worker claims
it (``alerted_at``, a conditional UPDATE, committed) before it sends, so two workers, or
the job run twice at once, announce it once; a worker killed between the two loses that
alert rather than sending it twice, as promise reminders do.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier.delivery.channels.base import Content
from notifier.errors import Conflict, NotFound
from notifier.pagination import paginate
from notifier.scales import Scale, Subject
from notifier.schemas.care import FollowUpQuery, FollowUpStatus
from notifier.tables import Customer, DeliveryProblem, FollowUp, Incident, Rating

# The start of the done group, when a page ends with the last open one: a position
# later than any row (2286, and an id after every 12-character one), shaped as any other.
_DONE_START = "9999999999999999.zzzzzzzzzzzzzzzzzz"


@dataclass(frozen=True)
class Opened:
    """A follow-up with what a person needs to act on it: the rating, the customer who
    gave it, and the subject's title (``""`` if the subject is gone)."""

    follow_up: FollowUp
    rating: Rating
    customer: Customer
    subject_title: str


async def list_follow_ups(
    session: AsyncSession, query: FollowUpQuery
) -> tuple[list[Opened], str | None]:
    """A page of follow-ups: the open ones, newest first, then the done ones, newest
    first (``query.status`` keeps one group); and the next page's cursor (None at the end).

    ``InvalidField`` (``cursor``) for a cursor this API did not hand out. Four queries.
    """
    cursor = query.cursor or None
    group = cursor[0] if cursor else ("d" if query.status == FollowUpStatus.done else "o")
    position = cursor[1:] if cursor else None
    if query.status is not None and group != query.status.value[0]:
        return [], None  # a cursor of the other group: nothing of this one is after it
    rows: list[FollowUp] = []
    next_cursor: str | None = None
    if group == "o":
        found, after = await paginate(
            session,
            _in_group("o"),
            FollowUp.created_at,
            FollowUp.id,
            limit=query.limit,
            cursor=position,
        )
        rows.extend(found)
        next_cursor = "o" + after if after else None
        if after is None and query.status is None:
            room = query.limit - len(rows)
            if room == 0:
                more = await session.scalar(_in_group("d").with_only_columns(FollowUp.id).limit(1))
                next_cursor = "d" + _DONE_START if more is not None else None
            else:
                group, position = "d", None
                query = query.model_copy(update={"limit": room})
    if group == "d":
        found, after = await paginate(
            session,
            _in_group("d"),
            FollowUp.created_at,
            FollowUp.id,
            limit=query.limit,
            cursor=position,
        )
        rows.extend(found)
        next_cursor = "d" + after if after else None
    return await _opened(session, rows), next_cursor


def _in_group(group: str) -> Select[FollowUp]:
    done = FollowUp.done_at.is_(None) if group == "o" else FollowUp.done_at.is_not(None)
    return select(FollowUp).where(done)


async def get_follow_up(session: AsyncSession, follow_up_id: str) -> Opened:
    """The follow-up with this id; ``NotFound`` if there is none."""
    follow_up = await session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound("follow-up", follow_up_id)
    [opened] = await _opened(session, [follow_up])
    return opened


async def mark_done(
    session: AsyncSession, follow_up_id: str, note: str, *, done_by: str, now: datetime
) -> Opened:
    """Close the follow-up with ``note`` (what was done) by ``done_by`` (the API key's
    name). ``NotFound`` if there is none, ``Conflict`` if it is done already (its note
    stays the first one)."""
    follow_up = await session.get(FollowUp, follow_up_id, with_for_update=True)
    if follow_up is None:
        raise NotFound("follow-up", follow_up_id)
    if follow_up.done_at is not None:
        raise Conflict("this follow-up is done already")
    follow_up.done_at, follow_up.done_note, follow_up.done_by = now, note, done_by
    await session.flush()
    [opened] = await _opened(session, [follow_up])
    return opened


async def claim_unalerted(session: AsyncSession, *, now: datetime) -> list[Opened]:
    """Claim every follow-up ops have not been told of (``alerted_at`` set by a conditional
    UPDATE: a concurrent claim waits for this one and then finds none), oldest first.
    Commit before alerting."""
    claimed = await session.scalars(
        update(FollowUp)
        .where(FollowUp.alerted_at.is_(None))
        .values(alerted_at=now)
        .returning(FollowUp.id)
    )
    ids = list(claimed)
    if not ids:
        return []
    rows = await session.scalars(
        select(FollowUp)
        .where(FollowUp.id.in_(ids))
        .order_by(FollowUp.created_at, FollowUp.id)
        .execution_options(populate_existing=True)
    )
    return await _opened(session, list(rows))


async def _opened(session: AsyncSession, rows: Sequence[FollowUp]) -> list[Opened]:
    """Each follow-up with its rating, customer and subject title, in three queries."""
    if not rows:
        return []
    found = await session.execute(
        select(Rating, Customer)
        .join(Customer, Customer.id == Rating.customer_id)
        .where(Rating.id.in_([f.rating_id for f in rows]))
    )
    ratings = {rating.id: (rating, customer) for rating, customer in found}
    titles = await _titles(session, [r for r, _ in ratings.values()])
    out = []
    for follow_up in rows:
        rating, customer = ratings[follow_up.rating_id]
        title = titles.get((rating.subject_type, rating.subject_id), "")
        out.append(Opened(follow_up, rating, customer, title))
    return out


async def _titles(session: AsyncSession, ratings: Sequence[Rating]) -> dict[tuple[str, str], str]:
    """(subject type, id) -> title: an incident's or maintenance's (both incident rows),
    a delivery problem's (its reference when it has no title)."""
    problems = {r.subject_id for r in ratings if r.subject_type == Subject.problem}
    incidents = {r.subject_id for r in ratings if r.subject_type != Subject.problem}
    titles: dict[tuple[str, str], str] = {}
    if incidents:
        found = await session.execute(
            select(Incident.id, Incident.title).where(Incident.id.in_(incidents))
        )
        for ident, title in found:
            titles[(Subject.incident, ident)] = titles[(Subject.maintenance, ident)] = title
    if problems:
        named = await session.execute(
            select(DeliveryProblem.id, DeliveryProblem.title, DeliveryProblem.reference).where(
                DeliveryProblem.id.in_(problems)
            )
        )
        for ident, title, reference in named:
            titles[(Subject.problem, ident)] = title or reference
    return titles


def follow_up_url(settings: Settings, follow_up_id: str) -> str:
    """Where the ops API shows the follow-up."""
    return f"{str(settings.public_url).rstrip('/')}/api/v1/follow-ups/{follow_up_id}"


def compose(opened: Opened, settings: Settings) -> tuple[Content, Content]:
    """(email, SMS) content of the on-call alert of a new follow-up, in English.

    The SMS names no one (a phone's lock screen shows it): the score, the subject and
    where to look. The email adds the customer's external id and their comment, which
    the person reaching out needs.
    """
    rating = opened.rating
    scale = Scale(rating.scale)
    score = f"{scale.name.upper()} {rating.score} of {scale.scores[-1]}"
    about = f'{rating.subject_type} "{opened.subject_title}"'
    url = follow_up_url(settings, opened.follow_up.id)
    subject = f"[{settings.page_name}] Low rating to follow up: {score} on {opened.subject_title}"
    lines = [
        f"A customer rated how we kept them informed about {about}: {score} (by {rating.channel}).",
        f"Customer: {opened.customer.external_id or '(erased)'}",
        f"Comment: {rating.comment}" if rating.comment else "No comment.",
        "Please reach out to them, then mark the follow-up done with a note.",
    ]
    text = "\n".join(lines) + f"\n\n{url}\n"
    page = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    page += f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>'
    sms = f"{settings.page_name}: low rating to follow up ({score}) on {about}. {url}"
    return Content(subject=subject, text=text, html=page), Content(subject="", text=sms)


def payload(opened: Opened, settings: Settings, *, now: datetime) -> bytes:
    """The on-call webhook body of a new follow-up (signed as ``on_call`` says)::

    {"type": "follow_up.opened", "id": "follow-up-<id>",   # the same on a retry
     "sent_at": "<RFC 3339>",
     "follow_up": {"id", "url", "created_at", "score", "scale", "channel", "comment",
                   "customer": {"external_id"}, "subject": {"type", "id", "title"}}}
    """
    rating, follow_up = opened.rating, opened.follow_up
    body = {
        "type": "follow_up.opened",
        "id": f"follow-up-{follow_up.id}",
        "sent_at": now.isoformat(),
        "follow_up": {
            "id": follow_up.id,
            "url": follow_up_url(settings, follow_up.id),
            "created_at": follow_up.created_at.isoformat(),
            "score": rating.score,
            "scale": rating.scale,
            "channel": rating.channel,
            "comment": rating.comment,
            "customer": {"external_id": opened.customer.external_id},
            "subject": {
                "type": rating.subject_type,
                "id": rating.subject_id,
                "title": opened.subject_title,
            },
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
