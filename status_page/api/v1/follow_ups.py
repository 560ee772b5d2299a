"""Ops API: follow-ups of low ratings (listed, read, marked done with a note)."""

from __future__ import annotations

from notifier.care import follow_ups
from notifier.schemas.care import FollowUpDone, FollowUpQuery
from status_page.api.models.care import FollowUpOut
from status_page.api.models.common import Page
from status_page.api.routing import Api, Context

api = Api("/api/v1")
# They show who answered, how to reach them and what they wrote: personal data.
READ = "customers:read"
WRITE = "follow_ups:write"
TAG = "follow-ups"


@api.route(
    "GET",
    "/follow-ups",
    summary="List follow-ups of low ratings, open ones first",
    tag=TAG,
    scope=READ,
    query=FollowUpQuery,
    response=Page[FollowUpOut],
)
async def list_follow_ups(ctx: Context, query: FollowUpQuery) -> Page[FollowUpOut]:
    """A page of follow-ups: open ones newest first, then done ones newest first
    (``status`` keeps one group); 422 for a bad query or cursor."""
    rows, cursor = await follow_ups.list_follow_ups(ctx.session, query)
    return Page(data=[FollowUpOut.from_record(r) for r in rows], next_cursor=cursor)


@api.route(
    "GET",
    "/follow-ups/{follow_up_id}",
    summary="Get a follow-up",
    tag=TAG,
    scope=READ,
    response=FollowUpOut,
)
async def get_follow_up(ctx: Context, follow_up_id: str) -> FollowUpOut:
    """The follow-up; 404 for an unknown id."""
    return FollowUpOut.from_record(await follow_ups.get_follow_up(ctx.session, follow_up_id))


@api.route(
    "POST",
    "/follow-ups/{follow_up_id}/done",
    summary="Mark a follow-up done, with a note of what was done",
    tag=TAG,
    scope=WRITE,
    body=FollowUpDone,
    response=FollowUpOut,
    audit="follow_up.done",
    # The note may quote the customer: the audit log keeps that a note was given, no more.
    audit_values=False,
    extra_statuses=(409,),
)
async def mark_done(ctx: Context, follow_up_id: str, body: FollowUpDone) -> FollowUpOut:
    """The follow-up, done by the API key's name; 404 for an unknown id, 409 when it is
    done already."""
    opened = await follow_ups.mark_done(
        ctx.session, follow_up_id, body.note, done_by=ctx.posted_by, now=ctx.now
    )
    return FollowUpOut.from_record(opened)
