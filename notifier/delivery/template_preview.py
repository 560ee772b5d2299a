"""What a recipient would get: one event's message rendered for a channel and a locale,
with sample or real data, for a given customer or a sample one. Reads only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier import customers, links, notifications
from notifier.delivery import message_templates, messages, rendering, sms_segments, template_samples
from notifier.delivery.channels.base import Content, Recipient, personalise
from notifier.errors import InvalidField, NotFound, UnknownReference
from notifier.events import Event
from notifier.statuses import ChannelName, Locale, TemplatePart

# Links in a preview are signed with this, which no one else has: they look real and
# never work. One per process (the signers are cached per secret).
_THROWAWAY_SECRET = secrets.token_urlsafe(32)
# A sample recipient's id: as long as a real one (notifier.db.new_id), so the links are too.
_SAMPLE_ID = "sample000000"


@dataclass(frozen=True)
class Preview:
    """The message as the recipient would see it, in ``locale``: ``subject`` (email and
    in-app), ``text``, ``html`` (email), and for SMS the segments billed and their encoding."""

    locale: Locale
    subject: str
    text: str
    html: str
    sms_segments: int | None
    sms_encoding: str | None


async def preview(
    session: AsyncSession,
    settings: Settings,
    *,
    event: Event,
    channel: ChannelName,
    locale: Locale | None = None,
    customer: str | None = None,
    notification_id: str | None = None,
    sources: Mapping[TemplatePart, str] | None = None,
) -> Preview:
    """``event``'s message on ``channel`` in ``locale`` (default: the customer's, else
    English), the overrides in force applied and ``sources`` (unsaved parts) over them.

    ``customer`` (an external id) gives the greeting by their name and the times in
    their time zone; without one a sample name and the page's zone. The manage and
    unsubscribe links have their real form and length, but are signed with a throwaway
    secret: a preview never makes a working link that acts for a customer.
    ``notification_id`` gives a real notification's data (it must tell ``event``);
    without one, ``template_samples``. Raises UnknownReference (``customer``,
    ``notification_id``) and InvalidField (``event``, ``sources.<part>`` when it fails
    its checks, or the part that failed to render).
    """
    person = None
    if customer is not None:
        try:
            person = await customers.get_customer(session, customer)
        except NotFound:
            raise UnknownReference("customer", f"no customer with id {customer!r}") from None
    # Times in the customer's own zone, as ``sending`` writes them (the page's for none).
    zone = messages.recipient_zone(
        person.time_zone if person is not None else None, settings.page_time_zone
    )
    times: dict[str, str] = {}
    if locale is None:
        known = person is not None and person.locale in Locale.__members__
        locale = Locale(person.locale) if person is not None and known else Locale.en
    if notification_id is not None:
        try:
            notification = await notifications.get(session, notification_id)
        except NotFound:
            detail = f"no notification with id {notification_id!r}"
            raise UnknownReference("notification_id", detail) from None
        if notification.event != event:
            detail = f"notification {notification_id} tells {notification.event}, not {event}"
            raise InvalidField("event", detail)
        # Rendered as ``sending`` renders it, times as tokens, then this recipient's.
        context = messages.with_time_tokens(
            await messages.context(session, notification, settings, locale)
        )
        written = (await messages.moments(session, notification)).written(zone, locale)
        times = {name: value for name, value in written.items() if value}
    else:
        context = template_samples.context(
            event,
            locale,
            message_templates.variables(event),
            zone=zone,
            page_name=settings.page_name,
            url=str(settings.public_url).rstrip("/") + "/",
            brand_color=settings.brand_color,
            brand_logo_url=str(settings.brand_logo_url) if settings.brand_logo_url else None,
            company_url=str(settings.company_url) if settings.company_url else None,
            scale=settings.ratings.scale,
        )
    overrides = await message_templates.current(session)
    for part, source in (sources or {}).items():
        message_templates.check(event, locale, part, source, field=f"sources.{part}")
        overrides[(event.value, locale.value, part.value)] = source
    if person is not None:
        names = (person.given_name, person.family_name)
    else:
        names = template_samples.name(locale)
    recipient_id = person.id if person is not None else _SAMPLE_ID
    recipient = _recipient(settings, recipient_id, names, locale, channel)
    recipient.values.update(times)
    if event.asks_rating:  # its score links, as ``sending`` gives them: they never work
        public = str(settings.public_url).rstrip("/")
        signed = links.rating_token(_THROWAWAY_SECRET, recipient_id)
        for score in context["scores"]:
            recipient.values[f"rating_url_{score}"] = public + links.rating_path(signed, score)
    try:
        content = rendering.render(
            event,
            channel,
            locale,
            context,
            overrides,
            fallback=False,
            # Fitted to the segment limit with this recipient's values, as ``sending`` does.
            sms_max_segments=settings.delivery.sms_max_segments,
            values=recipient.values,
        )
    except rendering.TemplateFailed as exc:
        field = f"sources.{exc.part}" if exc.part in (sources or {}) else "event"
        saved = "the saved override of " if exc.overridden else "the built-in "
        raise InvalidField(field, f"{saved}{exc.part} fails with this data: {exc}") from None
    shown = personalise(content, recipient)
    shown = _with_url(shown, context["url"])
    if channel != ChannelName.sms:
        return Preview(locale, shown.subject, shown.text, shown.html, None, None)
    return Preview(
        locale,
        "",
        shown.text,
        "",
        sms_segments.segments(shown.text),
        sms_segments.encoding(shown.text),
    )


def _recipient(
    settings: Settings,
    customer_id: str,
    names: tuple[str | None, str | None],
    locale: str,
    channel: str,
) -> Recipient:
    """The per-recipient values, as ``sending`` gives them, links signed with a secret
    no one keeps."""
    throwaway = _THROWAWAY_SECRET
    public = str(settings.public_url).rstrip("/")
    unsubscribe = links.sign(throwaway, "unsubscribe", f"{customer_id}:{channel}")
    manage = links.manage_token(throwaway, customer_id, channel)
    return Recipient(
        delivery_id=0,
        address="",
        values={
            "greeting": messages.greeting(locale, *names),
            "unsubscribe_url": f"{public}/unsubscribe/{unsubscribe}",
            "manage_url": f"{public}/manage/{manage}",
        },
    )


def _with_url(content: Content, url: str) -> Content:
    # ``sending`` gives each recipient the page's url as a value too (%%url%%).
    recipient = Recipient(delivery_id=0, address="", values={"url": url})
    return personalise(content, recipient)
