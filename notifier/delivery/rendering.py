"""Message text per channel and locale, from Jinja templates in ``notifier/delivery/templates``.

Layout: ``email/<event>/{subject,body}.<locale>.txt`` and ``body.<locale>.html``,
``sms/<event>.<locale>.txt``. In-app messages use the email subject as title and
the SMS text as body. Per-recipient values stay as ``%%tokens%%`` (see channels.base).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from notifier.delivery import messages
from notifier.delivery.channels.base import TOKENS, Content, token
from notifier.delivery.sms_segments import encoding, segments
from notifier.events import Event
from notifier.markdown import to_html, to_text
from notifier.statuses import ChannelName, Locale

_ROOT = Path(__file__).with_name("templates")
# One set of templates per event (``notifier.events.Event``).
EVENTS = tuple(Event)


@cache
def _env(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_ROOT),
        autoescape=html,  # noqa: S701  (text and SMS bodies are not HTML)
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = to_html
    env.filters["plaintext"] = to_text
    # A token is our own constant (%%name%%); its value is escaped when substituted.
    env.globals["token"] = lambda name: Markup(token(name, html_part=html))  # noqa: S704
    return env


def _render(path: str, context: dict[str, Any], *, html: bool = False) -> str:
    return _env(html).get_template(path).render(context).strip()


def render(
    event: str,
    channel: str,
    locale: str,
    context: dict[str, Any],
    *,
    sms_max_segments: int | None = None,
    values: Mapping[str, str] | None = None,
    ucs2: bool = False,
) -> Content:
    """``event``'s message (an ``Event``) for ``channel`` ("email", "sms" or "inapp") in
    ``locale``.

    An unknown locale falls back to English. Email gets subject, text and HTML (the
    HTML template autoescaped, update bodies through ``markdown``; the text part's
    through ``plaintext``); SMS only text, its body through ``plaintext``, made
    ``sms_safe`` and, with ``sms_max_segments``, fitted to that many segments (``fit_sms``,
    measured with the tokens as ``values``: token name -> the longest value a recipient
    will get, and as UCS-2 when ``ucs2``: some recipient's value is not GSM-7); in-app
    the email subject as title and the SMS text as body (uncut).
    Raises jinja2's TemplateNotFound for an unknown event and UndefinedError when
    ``context`` lacks a value a template uses.
    """
    locale = locale if locale in Locale.__members__ else Locale.en
    if channel == ChannelName.sms:
        path = f"sms/{event}.{locale}.txt"
        if sms_max_segments is None:
            return Content(subject="", text=sms_safe(_render(path, context)))
        return Content(
            subject="", text=fit_sms(path, context, sms_max_segments, values or {}, ucs2=ucs2)
        )
    subject = _render(f"email/{event}/subject.{locale}.txt", context)
    if channel == ChannelName.inapp:
        return Content(subject=subject, text=_render(f"sms/{event}.{locale}.txt", context))
    return Content(
        subject=subject,
        text=_render(f"email/{event}/body.{locale}.txt", context),
        html=_render(f"email/{event}/body.{locale}.html", context, html=True),
    )


def fit_sms(
    path: str,
    context: dict[str, Any],
    max_segments: int,
    values: Mapping[str, str],
    *,
    ucs2: bool = False,
) -> str:
    """The SMS template at ``path`` rendered so that, with each token replaced by its value
    in ``values`` (the longest a recipient gets; tokens not there count as written), it
    costs at most ``max_segments`` segments: ``body_short`` (the update's words) is cut,
    with an ellipsis, as little as that takes. Everything else stays, the link to the
    full update above all; when even an empty body does not fit, the text goes uncut
    rather than without its link (a title that long is the sender's choice).
    ``ucs2``: measure as UCS-2 whatever the text (a value substituted later makes it so).
    """
    ucs2 = ucs2 or any(encoding(v) != "GSM-7" for v in values.values())

    def text(body: str) -> str:
        return sms_safe(_render(path, {**context, "body_short": body}))

    def fits(said: str) -> bool:
        for name in TOKENS:
            if name in values:
                said = said.replace(token(name), values[name])
        return segments(said, ucs2=ucs2) <= max_segments

    body = context["body_short"]
    whole = text(body)
    if fits(whole) or not body:
        return whole
    if not fits(text("")):
        return whole
    # The longest cut that fits: fitting is monotonic in the cut's length.
    low, high = 0, len(body) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text(messages.shorten(body, middle))):
            low = middle
        else:
            high = middle - 1
    return text(messages.shorten(body, low))


# A no-break space, typographic quotes, dashes or the ellipsis that ``messages.shorten``
# adds would force UCS-2 and double the cost of an otherwise GSM-7 text.
_SMS_SAFE = str.maketrans(
    {
        "\xa0": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def sms_safe(text: str) -> str:
    """``text`` with look-alike punctuation made GSM-7 (no-break space, curly quotes,
    en and em dashes, the ellipsis), so one of them cannot switch a whole SMS to UCS-2.
    """
    return text.translate(_SMS_SAFE)
