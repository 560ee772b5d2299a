"""Ops API: message templates, listed, overridden per event, locale and part, previewed."""

from __future__ import annotations

from notifier import api_keys
from notifier.delivery import message_templates, template_preview
from notifier.events import Event
from notifier.schemas.templates import TemplatePreview, TemplatePut
from notifier.statuses import Locale, TemplatePart
from status_page import keys
from status_page.api.errors import ApiError
from status_page.api.models.common import Page
from status_page.api.models.templates import PreviewOut, TemplateOut
from status_page.api.routing import Api, Context

api = Api("/api/v1")
WRITE = "templates:write"
PATH = "/templates/{event}/{locale}/{part}"


@api.route(
    "GET",
    "/templates",
    summary="Every message template: each event's parts in each locale, built-in or overridden",
    tag="templates",
    scope="read",
    response=Page[TemplateOut],
)
async def list_templates(ctx: Context) -> Page[TemplateOut]:
    """Every (event, locale, part) in one page, with the source in use and the built-in."""
    rows = await message_templates.list_templates(ctx.session)
    return Page(data=[TemplateOut.from_record(t) for t in rows], next_cursor=None)


@api.route(
    "PUT",
    PATH,
    summary="Override a template (201 when it was the built-in); checked before it is saved",
    tag="templates",
    scope=WRITE,
    body=TemplatePut,
    response=TemplateOut,
    audit="template.override",
    extra_statuses=(201,),
)
async def put_template(
    ctx: Context, event: str, locale: str, part: str, body: TemplatePut
) -> TemplateOut:
    # The routing checked event, locale and part against their enums (PATH_RULES).
    """The template, 201 when it was the built-in, 200 when it replaced an override;
    422 naming ``source`` for a syntax error, an unknown variable or token, or a
    template that fails with the event's sample data."""
    template, created = await message_templates.put(
        ctx.session,
        Event(event),
        Locale(locale),
        TemplatePart(part),
        body.source,
        by=ctx.posted_by,
        now=ctx.now,
    )
    ctx.status = 201 if created else 200
    ctx.target_id = f"{event}/{locale}/{part}"
    return TemplateOut.from_record(template)


@api.route(
    "DELETE",
    PATH,
    summary="Revert a template to the built-in (nothing to do when it is not overridden)",
    tag="templates",
    scope=WRITE,
    response=TemplateOut,
    audit="template.revert",
)
async def revert_template(ctx: Context, event: str, locale: str, part: str) -> TemplateOut:
    """The template as it now is: the built-in."""
    template = await message_templates.revert(
        ctx.session, Event(event), Locale(locale), TemplatePart(part)
    )
    ctx.target_id = f"{event}/{locale}/{part}"
    return TemplateOut.from_record(template)


@api.route(
    "POST",
    "/templates/preview",
    summary="Render an event's message as a customer would get it, with sample or real data",
    tag="templates",
    scope="read",
    body=TemplatePreview,
    response=PreviewOut,
    reads_only=True,
    extra_statuses=(404,),
)
async def preview_template(ctx: Context, body: TemplatePreview) -> PreviewOut:
    """The message for ``channel``: 404 naming ``customer`` or ``notification_id`` when
    unknown, 403 for a ``customer`` without the customers:read scope (it shows their
    name), 422 naming ``event`` or ``sources.<part>`` when a template fails."""
    if body.customer is not None and not api_keys.allows(ctx.key, "customers:read"):
        raise ApiError(403, "previewing for a customer needs the 'customers:read' scope")
    preview = await template_preview.preview(
        ctx.session,
        ctx.request.app[keys.SETTINGS],
        event=body.event,
        channel=body.channel,
        locale=body.locale,
        customer=body.customer,
        notification_id=body.notification_id,
        sources=body.sources.given() if body.sources is not None else None,
    )
    return PreviewOut.from_preview(preview, body.event, body.channel)
