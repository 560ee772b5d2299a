"""Ops API: components and component groups."""

from __future__ import annotations

from notifier import components
from notifier.schemas.components import (
    ComponentCreate,
    ComponentPatch,
    GroupCreate,
    GroupPatch,
)
from status_page.api.models.common import Page
from status_page.api.models.components import ComponentOut, GroupOut
from status_page.api.routing import Api, Context

api = Api("/api/v1")
WRITE = "components:write"


@api.route(
    "GET",
    "/components",
    summary="List components",
    tag="components",
    scope="read",
    response=Page[ComponentOut],
)
async def list_components(ctx: Context) -> Page[ComponentOut]:
    """Every component, in page order, in one page."""
    rows = await components.list_components(ctx.session)
    return Page(data=[ComponentOut.model_validate(c) for c in rows], next_cursor=None)


@api.route(
    "POST",
    "/components",
    summary="Create a component",
    tag="components",
    scope=WRITE,
    body=ComponentCreate,
    response=ComponentOut,
    status=201,
    audit="component.create",
)
async def create_component(ctx: Context, body: ComponentCreate) -> ComponentOut:
    """The new component (201); 404 naming group_id for an unknown group."""
    component = await components.create_component(ctx.session, body, now=ctx.now)
    return ComponentOut.model_validate(component)


@api.route(
    "GET",
    "/components/{component_id}",
    summary="Get a component",
    tag="components",
    scope="read",
    response=ComponentOut,
)
async def get_component(ctx: Context, component_id: str) -> ComponentOut:
    """The component; 404 for an unknown id."""
    return ComponentOut.model_validate(await components.get_component(ctx.session, component_id))


@api.route(
    "PATCH",
    "/components/{component_id}",
    summary="Change a component",
    tag="components",
    scope=WRITE,
    body=ComponentPatch,
    response=ComponentOut,
    audit="component.update",
)
async def patch_component(ctx: Context, component_id: str, body: ComponentPatch) -> ComponentOut:
    """The changed component; 404 for an unknown id or group."""
    component = await components.patch_component(ctx.session, component_id, body, now=ctx.now)
    return ComponentOut.model_validate(component)


@api.route(
    "DELETE",
    "/components/{component_id}",
    summary="Delete a component",
    tag="components",
    scope=WRITE,
    status=204,
    audit="component.delete",
)
async def delete_component(ctx: Context, component_id: str) -> None:
    """Nothing (204); 404 for an unknown id."""
    await components.delete_component(ctx.session, component_id)


@api.route(
    "GET",
    "/component-groups",
    summary="List component groups",
    tag="components",
    scope="read",
    response=Page[GroupOut],
)
async def list_groups(ctx: Context) -> Page[GroupOut]:
    """Every component group, in page order, in one page."""
    groups = await components.list_groups(ctx.session)
    return Page(data=[GroupOut.from_record(g) for g in groups], next_cursor=None)


@api.route(
    "POST",
    "/component-groups",
    summary="Create a component group",
    tag="components",
    scope=WRITE,
    body=GroupCreate,
    response=GroupOut,
    status=201,
    audit="group.create",
)
async def create_group(ctx: Context, body: GroupCreate) -> GroupOut:
    """The new group (201); 404 naming components[i] for an unknown component."""
    return GroupOut.from_record(await components.create_group(ctx.session, body, now=ctx.now))


@api.route(
    "GET",
    "/component-groups/{group_id}",
    summary="Get a component group",
    tag="components",
    scope="read",
    response=GroupOut,
)
async def get_group(ctx: Context, group_id: str) -> GroupOut:
    """The group; 404 for an unknown id."""
    return GroupOut.from_record(await components.get_group(ctx.session, group_id))


@api.route(
    "PATCH",
    "/component-groups/{group_id}",
    summary="Change a component group",
    tag="components",
    scope=WRITE,
    body=GroupPatch,
    response=GroupOut,
    audit="group.update",
)
async def patch_group(ctx: Context, group_id: str, body: GroupPatch) -> GroupOut:
    """The changed group; 404 for an unknown id or component."""
    group = await components.patch_group(ctx.session, group_id, body, now=ctx.now)
    return GroupOut.from_record(group)


@api.route(
    "DELETE",
    "/component-groups/{group_id}",
    summary="Delete a component group (its components stay, ungrouped)",
    tag="components",
    scope=WRITE,
    status=204,
    audit="group.delete",
)
async def delete_group(ctx: Context, group_id: str) -> None:
    """Nothing (204); the group's components stay, ungrouped. 404 for an unknown id."""
    await components.delete_group(ctx.session, group_id)
