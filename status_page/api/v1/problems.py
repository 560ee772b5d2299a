"""Delivery problems (not to be confused with RFC 9457 problem details)."""

from __future__ import annotations

from notifier import problems
from notifier.schemas.problems import (
    ProblemCreate,
    ProblemQuery,
    ProblemResolve,
    ProblemUpdateCreate,
)
from status_page.api.models.common import Page
from status_page.api.models.problems import ProblemOut
from status_page.api.routing import Api, Context

api = Api("/api/v1")
WRITE = "incidents:write"
TAG = "delivery problems"


@api.route(
    "GET",
    "/delivery-problems",
    summary="List delivery problems, newest first",
    tag=TAG,
    scope="read",
    query=ProblemQuery,
    response=Page[ProblemOut],
)
async def list_problems(ctx: Context, query: ProblemQuery) -> Page[ProblemOut]:
    """A page of delivery problems, newest first; 422 for a bad query or cursor."""
    rows, cursor = await problems.list_problems(ctx.session, query)
    return Page(data=[ProblemOut.from_record(p) for p in rows], next_cursor=cursor)


@api.route(
    "POST",
    "/delivery-problems",
    summary="Report a delivery problem",
    tag=TAG,
    scope=WRITE,
    body=ProblemCreate,
    response=ProblemOut,
    status=201,
    audit="delivery_problem.create",
    audit_redact=("customers",),
)
async def create_problem(ctx: Context, body: ProblemCreate) -> ProblemOut:
    """The new delivery problem (201); 404 naming customers[i] for an unknown customer."""
    problem = await problems.create_problem(ctx.session, body, posted_by=ctx.posted_by, now=ctx.now)
    return ProblemOut.from_record(problem)


@api.route(
    "GET",
    "/delivery-problems/{problem_id}",
    summary="Get a delivery problem",
    tag=TAG,
    scope="read",
    response=ProblemOut,
)
async def get_problem(ctx: Context, problem_id: str) -> ProblemOut:
    """The delivery problem; 404 for an unknown id."""
    return ProblemOut.from_record(await problems.get_problem(ctx.session, problem_id))


@api.route(
    "POST",
    "/delivery-problems/{problem_id}/updates",
    summary="Post an update (new status, new ETA)",
    tag=TAG,
    scope=WRITE,
    body=ProblemUpdateCreate,
    response=ProblemOut,
    status=201,
    audit="delivery_problem.post_update",
    extra_statuses=(409,),
)
async def post_update(ctx: Context, problem_id: str, body: ProblemUpdateCreate) -> ProblemOut:
    """The delivery problem with the new update (201); 409 once it is resolved."""
    problem = await problems.post_update(
        ctx.session, problem_id, body, posted_by=ctx.posted_by, now=ctx.now
    )
    return ProblemOut.from_record(problem)


@api.route(
    "POST",
    "/delivery-problems/{problem_id}/resolve",
    summary="Resolve a delivery problem",
    tag=TAG,
    scope=WRITE,
    body=ProblemResolve,
    body_required=False,
    response=ProblemOut,
    audit="delivery_problem.resolve",
    extra_statuses=(409,),
)
async def resolve(ctx: Context, problem_id: str, body: ProblemResolve) -> ProblemOut:
    """The resolved delivery problem; 409 when it is resolved already."""
    problem = await problems.resolve(
        ctx.session, problem_id, body, posted_by=ctx.posted_by, now=ctx.now
    )
    return ProblemOut.from_record(problem)
