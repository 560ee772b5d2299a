"""Ops API: notifications (with their deliveries counted) and a customer's deliveries."""

from __future__ import annotations

from notifier import customers, notifications
from notifier.schemas.notifications import DeliveryQuery
from status_page.api.models.common import Page
from status_page.api.models.notifications import DeliveryOut, NotificationOut
from status_page.api.routing import Api, Context

api = Api("/api/v1")


@api.route(
    "GET",
    "/notifications/{notification_id}",
    summary="A notification and its deliveries counted by channel and status",
    tag="notifications",
    scope="read",
    response=NotificationOut,
)
async def get_notification(ctx: Context, notification_id: str) -> NotificationOut:
    """The notification and its deliveries' counts; 404 for an unknown id."""
    notification = await notifications.get(ctx.session, notification_id)
    counts = await notifications.counts(ctx.session, [notification.id])
    return NotificationOut.from_record(notification, counts[notification.id])


@api.route(
    "GET",
    "/subjects/{subject_id}/notifications",
    summary="The notifications of an incident, maintenance or delivery problem",
    tag="notifications",
    scope="read",
    response=Page[NotificationOut],
)
async def list_for_subject(ctx: Context, subject_id: str) -> Page[NotificationOut]:
    """Every notification of a subject, newest first, in one page (two queries)."""
    rows = await notifications.for_subject(ctx.session, subject_id)
    counts = await notifications.counts(ctx.session, [n.id for n in rows])
    data = [NotificationOut.from_record(n, counts[n.id]) for n in rows]
    return Page(data=data, next_cursor=None)


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
    """A page of the customer's deliveries, newest first; 404 for an unknown customer."""
    customer = await customers.get_customer(ctx.session, external_id)
    rows, cursor = await notifications.deliveries_of(
        ctx.session, customer.id, limit=query.limit, cursor=query.cursor
    )
    return Page(data=[DeliveryOut.model_validate(d) for d in rows], next_cursor=cursor)
