from __future__ import annotations

from notifier import customers, notifications
from notifier.schemas.common import Page
from notifier.schemas.notifications import DeliveryOut, DeliveryQuery, NotificationOut
from notifier.tables import Notification
from status_page.api.routing import Api, Context

api = Api("/api/v1")


async def _out(ctx: Context, notification: Notification) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        kind=notification.kind,
        subject_id=notification.subject_id,
        update_id=notification.update_id,
        audience=notification.audience.to_json(),
        status=notification.status,
        created_at=notification.created_at,
        fanned_out_at=notification.fanned_out_at,
        deliveries=await notifications.counts(ctx.session, notification.id),
    )


@api.route(
    "GET",
    "/notifications/{notification_id}",
    summary="A notification and its deliveries counted by channel and status",
    tag="notifications",
    scope="read",
    response=NotificationOut,
)
async def get_notification(ctx: Context, notification_id: str) -> NotificationOut:
    return await _out(ctx, await notifications.get(ctx.session, notification_id))


@api.route(
    "GET",
    "/subjects/{subject_id}/notifications",
    summary="The notifications of an incident, maintenance or delivery problem",
    tag="notifications",
    scope="read",
    response=Page[NotificationOut],
)
async def list_for_subject(ctx: Context, subject_id: str) -> Page[NotificationOut]:
    rows = await notifications.for_subject(ctx.session, subject_id)
    return Page(data=[await _out(ctx, n) for n in rows], next_cursor=None)


@api.route(
    "GET",
    "/customers/{external_id}/deliveries",
    summary="A customer's deliveries, newest first",
    tag="customers",
    scope="customers:read",
    query=DeliveryQuery,
    response=Page[DeliveryOut],
)
async def customer_deliveries(
    ctx: Context, external_id: str, query: DeliveryQuery
) -> Page[DeliveryOut]:
    customer = await customers.get_customer(ctx.session, external_id)
    rows, cursor = await notifications.deliveries_of(
        ctx.session, customer.id, limit=query.limit, cursor=query.cursor
    )
    return Page(data=[DeliveryOut.model_validate(d) for d in rows], next_cursor=cursor)
