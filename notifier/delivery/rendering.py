"""Message text per channel and locale, from Jinja templates in ``notifier/delivery/templates``.

Layout: ``email/<event>/{subject,body}.<locale>.txt`` and ``body.<locale>.html``,
``sms/<event>.<locale>.txt``. In-app messages use the email subject as title and
the SMS text as body. Per-recipient values stay as ``%%tokens%%`` (see channels.base).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from notifier.delivery.channels.base import Content, token
from notifier.markdown import to_html, to_text
from notifier.statuses import ChannelName, Locale

_ROOT = Path(__file__).with_name("templates")
EVENTS = ("incident_update", "maintenance_update", "problem_update")
# Until the maintenance reminder has templates of its own, it speaks as a maintenance update.
_STAND_IN = {"maintenance_reminder": "maintenance_update"}


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


def render(event: str, channel: str, locale: str, context: dict[str, Any]) -> Content:
    """``event``'s message for ``channel`` ("email", "sms" or "inapp") in ``locale``.

    An unknown locale falls back to English. Email gets subject, text and HTML (the
    HTML template autoescaped, update bodies through ``markdown``; the text part's
    through ``plaintext``); SMS only text, its body through ``plaintext``, made
    ``sms_safe``; in-app the email subject as title and the SMS text as body.
    Raises jinja2's TemplateNotFound for an unknown event and UndefinedError when
    ``context`` lacks a value a template uses.
    """
    locale = locale if locale in Locale.__members__ else Locale.en
    event = _STAND_IN.get(event, event)
    if channel == ChannelName.sms:
        return Content(subject="", text=sms_safe(_render(f"sms/{event}.{locale}.txt", context)))
    subject = _render(f"email/{event}/subject.{locale}.txt", context)
    if channel == ChannelName.inapp:
        return Content(subject=subject, text=_render(f"sms/{event}.{locale}.txt", context))
    return Content(
        subject=subject,
        text=_render(f"email/{event}/body.{locale}.txt", context),
        html=_render(f"email/{event}/body.{locale}.html", context, html=True),
    )


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
