"""``/subscribe``: sign up for updates by email or SMS, and confirm (double opt-in).

The answer never tells whether an address is subscribed already: the same page,
the same status, and one message to the address either way (a confirmation, or
its manage link). Thin handlers: parse, call ``notifier.signup``, render.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from notifier import components, links, signup
from notifier.db import new_id, utcnow
from notifier.statuses import ChannelName
from notifier.tables import Component, Customer
from status_page import enqueue, forms, i18n, keys

log = logging.getLogger(__name__)

# The SMS sign-up being verified in this browser (a signed id, not the number).
PENDING_COOKIE = "fw_signup"
# Offered in the time zone field; any IANA zone is accepted.
COMMON_ZONES = (
    "Asia/Tokyo",
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Paris",
    "Asia/Seoul",
    "Asia/Singapore",
    "Australia/Sydney",
)


def add_routes(app: web.Application) -> None:
    """The sign-up routes: the form, its POST, SMS code check, confirm link."""
    app.router.add_get("/subscribe", form_page)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_post("/subscribe/verify", verify)
    app.router.add_get("/subscribe/confirm/{token}", confirm_page)
    app.router.add_post("/subscribe/confirm/{token}", confirm)


def _secret(request: web.Request) -> str:
    return request.app[keys.SETTINGS].secret_key.get_secret_value()


def _expiry_seconds(request: web.Request) -> int:
    return round(request.app[keys.SETTINGS].subscribe.pending_expiry_hours * 3600)


async def visible_components(request: web.Request) -> list[Component]:
    """The components a subscriber may follow (visible ones), in page order."""
    async with request.app[keys.SESSIONS]() as session:
        return [c for c in await components.list_components(session) if c.visible]


def manage_url(request: web.Request, customer: Customer, channel: str) -> str:
    """The path of ``customer``'s manage page for ``channel`` (a signed token in it)."""
    return "/manage/" + links.manage_token(_secret(request), customer.id, channel)


def _form_page(
    request: web.Request,
    listed: Sequence[Component],
    values: dict[str, Any],
    errors: dict[str, signup.FormError] | None = None,
) -> web.Response:
    settings = request.app[keys.SETTINGS].subscribe
    return forms.render(
        request,
        "subscribe.html",
        status=422 if errors else 200,
        components=listed,
        values=values,
        errors=errors or {},
        zones=COMMON_ZONES,
        sms_countries=settings.sms_countries,
    )


async def form_page(request: web.Request) -> web.Response:
    """GET /subscribe: the sign-up form."""
    values = {
        "channel": "email",
        "email": "",
        "phone": "",
        "given_name": "",
        "family_name": "",
        "scope": "page",
        "components": [],
        "locale": i18n.negotiate(request),
        "time_zone": request.app[keys.SETTINGS].page_time_zone,
    }
    return _form_page(request, await visible_components(request), values)


def _sent(request: web.Request, channel: str, signup_id: str) -> web.Response:
    """What every accepted sign-up sees: check your inbox, or type the code."""
    response = forms.render(request, "subscribe_sent.html", channel=channel, errors={})
    if channel == ChannelName.sms:
        response.set_cookie(
            PENDING_COOKIE,
            links.dumps(_secret(request), "verify", signup_id),
            path="/subscribe",
            max_age=_expiry_seconds(request),
            httponly=True,
            samesite="Lax",
        )
    return response


async def subscribe(request: web.Request) -> web.Response:
    """POST /subscribe: record a sign-up and enqueue its message after the commit."""
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    settings = request.app[keys.SETTINGS]
    channel = form.get("channel", ChannelName.email)
    if forms.honeypot_filled(form):
        log.info("a sign-up filled the honeypot; nothing stored")
        return _sent(
            request, ChannelName.sms if channel == ChannelName.sms else ChannelName.email, new_id()
        )
    listed = await visible_components(request)
    errors: dict[str, signup.FormError] = {}
    try:
        channel, address = signup.parse_address(form, settings.subscribe.sms_countries)
    except signup.Invalid as invalid:
        errors.update(invalid.errors)
    try:
        choice = signup.parse_choice(form, {c.id for c in listed}, form.getall("components", []))
    except signup.Invalid as invalid:
        errors.update(invalid.errors)
    if errors:
        return _form_page(request, listed, _values(form), errors)
    limits = signup.Limits(request.app[keys.QUEUE], settings.subscribe, _secret(request))
    if not (
        await limits.allow_ip(channel, request.remote or "")
        and await limits.allow_destination(address)
    ):
        log.info("a %s sign-up was over its rate limit", channel)
        return forms.notice(request, "rate_limited", 429)
    async with request.app[keys.SESSIONS]() as session, session.begin():
        row = await signup.request(
            session,
            channel,
            address,
            choice,
            settings=settings.subscribe,
            secret=_secret(request),
            now=utcnow(),
        )
    await enqueue.enqueue_signup_message(request.app, row.id)
    return _sent(request, channel, row.id)


def _values(form: MultiDictProxy[str]) -> dict[str, Any]:
    """What was typed, to fill the form in again (the honeypot and token excepted)."""
    values: dict[str, Any] = {
        name: form.get(name, "")
        for name in (
            "channel",
            "email",
            "phone",
            "given_name",
            "family_name",
            "scope",
            "locale",
            "time_zone",
        )
    }
    values["components"] = form.getall("components", [])
    return values


async def verify(request: web.Request) -> web.Response:
    """The code from the text message, typed on the page."""
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    signup_id = links.loads(
        _secret(request),
        "verify",
        request.cookies.get(PENDING_COOKIE, ""),
        max_age=_expiry_seconds(request),
    )
    if signup_id is None:
        return forms.notice(request, "code_expired", 400)
    async with request.app[keys.SESSIONS]() as session, session.begin():
        result = await signup.verify_code(
            session, signup_id, form.get("code", ""), secret=_secret(request), now=utcnow()
        )
    if result.customer is not None:
        response = _subscribed(request, result.customer, "sms")
        response.del_cookie(PENDING_COOKIE, path="/subscribe")
        return response
    if result.retry:
        wrong = {"code": signup.FormError("That code is not right. Check the text message.")}
        return forms.render(request, "subscribe_sent.html", status=422, channel="sms", errors=wrong)
    return forms.notice(request, "code_expired", 400)


def _subscribed(request: web.Request, customer: Customer, channel: str) -> web.Response:
    return forms.render(
        request, "confirm.html", state="done", manage_url=manage_url(request, customer, channel)
    )


def _confirm_id(request: web.Request) -> str | None:
    return links.loads(
        _secret(request), "confirm", request.match_info["token"], max_age=_expiry_seconds(request)
    )


async def confirm_page(request: web.Request) -> web.Response:
    """GET /subscribe/confirm/{token}: a button to confirm (a GET changes nothing)."""
    # GET changes nothing (mail scanners open links): the button POSTs.
    signup_id = _confirm_id(request)
    if signup_id is not None:
        async with request.app[keys.SESSIONS]() as session:
            if await signup.pending(session, signup_id, now=utcnow()) is not None:
                return forms.render(request, "confirm.html", state="confirm")
    return forms.notice(request, "link_invalid", 404)


async def confirm(request: web.Request) -> web.Response:
    """POST /subscribe/confirm/{token}: confirm the sign-up."""
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    signup_id = _confirm_id(request)
    if signup_id is None:
        return forms.notice(request, "link_invalid", 404)
    async with request.app[keys.SESSIONS]() as session, session.begin():
        row = await signup.pending(session, signup_id, now=utcnow())
        if row is None:
            return forms.notice(request, "link_invalid", 404)
        customer = await signup.confirm(session, row, now=utcnow())
    return _subscribed(request, customer, "email")
