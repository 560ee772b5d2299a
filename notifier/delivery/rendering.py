"""Message text per channel and locale, from Jinja templates in ``notifier/delivery/templates``.

Layout: ``email/<event>/{subject,body}.<locale>.txt`` and ``body.<locale>.html``,
``sms/<event>.<locale>.txt``. In-app messages use the email subject as title and
the SMS text as body. Per-recipient values stay as ``%%tokens%%`` (see channels.base).
An event's ``body.<locale>.html`` extends ``email/_layout.html``, whose CSS is inlined
here, once per rendering (css-inline), so clients that drop ``<style>`` still see it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from markupsafe import Markup

from notifier.delivery.channels.base import Content, token
from notifier.markdown import to_html, to_text
from notifier.statuses import ChannelName, Locale

_ROOT = Path(__file__).with_name("templates")
EVENTS = ("incident_update", "maintenance_update", "problem_update")

# The status chip's colour (a ``.chip-<tone>`` class of email/_layout.html) by status, per
# palette: incident and maintenance statuses share one, a delivery problem's has its own
# (its ``in_progress`` is work on a customer's order, not a maintenance under way).
TONES = {
    "incident": {
        "investigating": "red",
        "identified": "orange",
        "monitoring": "amber",
        "resolved": "green",
        "postmortem": "green",
        "scheduled": "blue",
        "in_progress": "blue",
        "verifying": "blue",
        "completed": "green",
        "cancelled": "grey",
    },
    "problem": {"open": "red", "in_progress": "amber", "resolved": "green"},
}

# No remote stylesheets (no network while rendering); @media rules stay in a <style> for
# the clients that honour it (phones: the fluid layout), the rest goes into style="".
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)


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
    env.filters["text_on"] = text_on
    env.globals["TONES"] = TONES
    # A token is our own constant (%%name%%); its value is escaped when substituted.
    env.globals["token"] = lambda name: Markup(token(name, html_part=html))  # noqa: S704
    return env


def _render(path: str, context: dict[str, Any], *, html: bool = False) -> str:
    return _env(html).get_template(path).render(context).strip()


def render(event: str, channel: str, locale: str, context: dict[str, Any]) -> Content:
    """``event``'s message for ``channel`` ("email", "sms" or "inapp") in ``locale``.

    An unknown locale falls back to English. Email gets subject, text and HTML (the
    HTML template autoescaped, with ``locale`` added to ``context``, update bodies
    through ``markdown``, its CSS then inlined; the text part's through ``plaintext``);
    SMS only text, its body through ``plaintext``, made ``sms_safe``; in-app the email
    subject as title and the SMS text as body.
    Raises jinja2's TemplateNotFound for an unknown event and UndefinedError when
    ``context`` lacks a value a template uses.
    """
    locale = locale if locale in Locale.__members__ else Locale.en
    if channel == ChannelName.sms:
        return Content(subject="", text=sms_safe(_render(f"sms/{event}.{locale}.txt", context)))
    subject = _render(f"email/{event}/subject.{locale}.txt", context)
    if channel == ChannelName.inapp:
        return Content(subject=subject, text=_render(f"sms/{event}.{locale}.txt", context))
    return Content(
        subject=subject,
        text=_render(f"email/{event}/body.{locale}.txt", context),
        html=inline_css(
            _render(f"email/{event}/body.{locale}.html", {**context, "locale": locale}, html=True)
        ),
    )


def inline_css(html: str) -> str:
    """``html`` with its ``<style>`` rules moved into ``style`` attributes, except at-rules
    (``@media``), which stay in one ``<style>``. Tokens (``%%name%%``) pass unchanged.
    Raises ``css_inline.InlineError`` for CSS it cannot parse (our templates' only).
    """
    return _INLINER.inline(html)


def text_on(colour: str) -> str:
    """Black-ish or white text for a ``#rrggbb`` background: whichever contrasts more
    (WCAG 2.x relative luminance and contrast ratio).
    """
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast with white, 1.05 / (L + .05), against that with #1a1a1a (L about .0103).
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0603 else "#1a1a1a"


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
