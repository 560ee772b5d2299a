"""``/manage/{token}``: a subscriber's own settings, through the signed link in every message.

The token names the customer and the channel it was sent over; it expires
(``FOREWARN_SUBSCRIBE__MANAGE_LINK_DAYS``), and a fresh one comes by signing up
again with the same address. Turning a channel back on is immediate for the
channel the link came through (reading it proves the address); another channel
gets a confirmation message first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from notifier import links, signup, subscribers
from notifier.db import utcnow
from notifier.schemas.customers import FollowsIn
from notifier.statuses import ChannelName, ConsentMethod
from notifier.subscribers import MANAGED_CHANNELS, Preferences
from notifier.tables import Component, Customer
from notifier.tables.customers import address_of
from status_page import enqueue, forms, keys
from status_page.subscribe import COMMON_ZONES, visible_components

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    """The manage-page routes: show, save, unfollow a component, unsubscribe from all."""
    app.router.add_get("/manage/{token}", page)
    app.router.add_post("/manage/{token}", save)
    app.router.add_post("/manage/{token}/unfollow", unfollow)
    app.router.add_post("/manage/{token}/unsubscribe", unsubscribe_all)


def _target(request: web.Request) -> tuple[str, str] | None:
    settings = request.app[keys.SETTINGS]
    payload = links.loads(
        settings.secret_key.get_secret_value(),
        "manage",
        request.match_info["token"],
        max_age=settings.subscribe.manage_link_days * 86400,
    )
    if payload is None or payload.count(":") != 1:
        return None
    customer_id, channel = payload.split(":")
    return customer_id, channel


def _invalid(request: web.Request) -> web.Response:
    return forms.notice(request, "manage_invalid", 404)


async def _load(request: web.Request, customer_id: str) -> Preferences | None:
    async with request.app[keys.SESSIONS]() as session:
        return await subscribers.preferences(session, customer_id)


def _reachable(customer: Customer) -> list[str]:
    """The channels they have an address for: the only ones an order can name."""
    return [c for c in ChannelName if address_of(customer, c)]


def _values(prefs: Preferences) -> dict[str, Any]:
    customer = prefs.customer
    quiet = customer.quiet_hours_start, customer.quiet_hours_end
    return {
        "given_name": customer.given_name or "",
        "family_name": customer.family_name or "",
        "only_unresolved": customer.only_unresolved,
        "order": "all" if customer.channel_order is None else "ordered",
        "channel_order": list(customer.channel_order or []),
        "channels": sorted(prefs.active),
        "scope": "page" if prefs.page or not prefs.components else "components",
        "components": sorted(prefs.components),
        "locale": customer.locale,
        "time_zone": customer.time_zone,
        "quiet_start": quiet[0].strftime("%H:%M") if quiet[0] else "",
        "quiet_end": quiet[1].strftime("%H:%M") if quiet[1] else "",
    }


def _render(
    request: web.Request,
    prefs: Preferences,
    listed: Sequence[Component],
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, signup.FormError] | None = None,
    notice: str = "",
) -> web.Response:
    customer = prefs.customer
    channels = [
        # The host application's user id means nothing to its user: the label says it.
        {"name": c, "address": "" if c == ChannelName.inapp else signup.mask(c, a)}
        for c in MANAGED_CHANNELS
        if (a := address_of(customer, c))
    ]
    by_id = {c.id: c for c in listed}
    reachable = _reachable(customer)
    return forms.render(
        request,
        "manage.html",
        status=422 if errors else 200,
        lang=customer.locale,
        channels=channels,
        reachable=reachable if len(reachable) > 1 else [],  # an order needs two
        components=listed,
        following=prefs.page or bool(prefs.components),
        followed=[(c, by_id[c]) for c in sorted(prefs.components) if c in by_id],
        following_page=prefs.page,
        # No channel on: offer to subscribe again, not to unsubscribe once more.
        subscribed=bool(prefs.active),
        values=values or _values(prefs),
        errors=errors or {},
        notice=notice,
        zones=COMMON_ZONES,
    )


async def page(request: web.Request) -> web.Response:
    """GET /manage/{token}: a subscriber's preferences, from a signed link."""
    target = _target(request)
    prefs = target and await _load(request, target[0])
    if not prefs:
        return _invalid(request)
    return _render(request, prefs, await visible_components(request))


async def save(request: web.Request) -> web.Response:
    """POST /manage/{token}: save channels (email, SMS, in-app), components, quiet hours,
    names, "only while a problem lasts" and the channel order; a new email or SMS channel
    is confirmed first unless the link came through it (its message is enqueued after the
    commit); in-app is on at once. Any bad field: 422, the form again, nothing saved."""
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    target = _target(request)
    if target is None:
        return _invalid(request)
    customer_id, via = target
    listed = await visible_components(request)
    errors: dict[str, signup.FormError] = {}
    try:
        choice = signup.parse_choice(form, {c.id for c in listed}, form.getall("components", []))
    except signup.Invalid as invalid:
        errors.update(invalid.errors)
    try:
        quiet = signup.parse_quiet_hours(form)
    except signup.Invalid as invalid:
        errors.update(invalid.errors)
    wanted = set(form.getall("channels", []))
    now = utcnow()
    settings = request.app[keys.SETTINGS]
    to_confirm = []
    async with request.app[keys.SESSIONS]() as session, session.begin():
        prefs = await subscribers.preferences(session, customer_id)
        if prefs is None:
            return _invalid(request)
        customer = prefs.customer
        try:
            order = signup.parse_channel_order(
                form, _reachable(customer), form.getall("channel_order", [])
            )
        except signup.Invalid as invalid:
            errors.update(invalid.errors)
        if errors:
            return _render(request, prefs, listed, values=_posted(form), errors=errors)
        await subscribers.set_preferences(
            session,
            customer,
            follows=FollowsIn(page=choice.page, components=list(choice.components)),
            locale=choice.locale,
            time_zone=choice.time_zone,
            quiet_hours=quiet,
            names=(choice.given_name, choice.family_name),
            only_unresolved=bool(form.get("only_unresolved")),
            channel_order=order,
            now=now,
        )
        for channel in MANAGED_CHANNELS:
            address = address_of(customer, channel)
            if not address or (channel in wanted) == (channel in prefs.active):
                continue
            if channel not in wanted:
                await subscribers.revoke(session, customer.id, channel, now=now)
            elif channel == ChannelName.inapp:
                # Nothing to confirm: the host application vouched for its user's id.
                await subscribers.grant(
                    session,
                    customer,
                    channel,
                    method=ConsentMethod.in_app_identity,
                    now=now,
                    legal_basis="turned on through a manage link",
                )
            elif channel == via:
                await subscribers.grant(
                    session,
                    customer,
                    channel,
                    method=ConsentMethod.double_opt_in,
                    now=now,
                    legal_basis="turned on through a manage link sent to this address",
                )
            else:
                to_confirm.append((channel, address))
        rows = []
        limits = signup.Limits(
            request.app[keys.QUEUE], settings.subscribe, settings.secret_key.get_secret_value()
        )
        keep = signup.Choice(False, (), choice.locale, choice.time_zone)
        for channel, address in to_confirm:
            if await limits.allow_destination(address):
                row = await signup.request(
                    session,
                    channel,
                    address,
                    keep,
                    settings=settings.subscribe,
                    secret=settings.secret_key.get_secret_value(),
                    now=now,
                    customer_id=customer.id,
                )
                rows.append(row.id)
        prefs = await subscribers.preferences(session, customer_id)
        assert prefs is not None
    for signup_id in rows:
        await enqueue.enqueue_signup_message(request.app, signup_id)
    log.info("a subscriber changed their settings")
    return _render(request, prefs, listed, notice="confirm_sent" if to_confirm else "saved")


def _posted(form: MultiDictProxy[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: form.get(name, "")
        for name in (
            "scope",
            "locale",
            "time_zone",
            "quiet_start",
            "quiet_end",
            "given_name",
            "family_name",
            "order",
        )
    }
    values["channels"] = form.getall("channels", [])
    values["components"] = form.getall("components", [])
    values["channel_order"] = form.getall("channel_order", [])
    values["only_unresolved"] = bool(form.get("only_unresolved"))
    return values


async def unfollow(request: web.Request) -> web.Response:
    """Stop following one component (or the whole page), from its own button."""
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    target = _target(request)
    if target is None:
        return _invalid(request)
    component = form.get("component", "")
    async with request.app[keys.SESSIONS]() as session, session.begin():
        await subscribers.unfollow(session, target[0], None if component == "page" else component)
        prefs = await subscribers.preferences(session, target[0])
    if prefs is None:
        return _invalid(request)
    return _render(request, prefs, await visible_components(request), notice="unfollowed")


async def unsubscribe_all(request: web.Request) -> web.Response:
    """POST /manage/{token}/unsubscribe: unsubscribe the link's customer from everything."""
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    target = _target(request)
    if target is None:
        return _invalid(request)
    async with request.app[keys.SESSIONS]() as session, session.begin():
        await subscribers.unsubscribe_all(session, target[0], now=utcnow())
        prefs = await subscribers.preferences(session, target[0])
    if prefs is None:
        return _invalid(request)
    log.info("a subscriber unsubscribed from everything")
    return _render(request, prefs, await visible_components(request), notice="unsubscribed")
