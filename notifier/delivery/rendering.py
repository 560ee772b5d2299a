"""Message text per channel and locale, from Jinja templates in ``notifier/delivery/templates``.

Layout: ``email/<event>/{subject,body}.<locale>.txt`` and ``body.<locale>.html``,
``sms/<event>.<locale>.txt``. In-app messages use the email subject as title and
the SMS text as body. Per-recipient values stay as ``%%tokens%%`` (see channels.base).
An event's ``body.<locale>.html`` extends ``email/_layout.html``, whose CSS is inlined
here, once per rendering (css-inline), so clients that drop ``<style>`` still see it.

Ops may override any of those files per event, locale and part through the ops API
(``notifier.delivery.message_templates``); ``render`` is handed the overrides and
prefers them. An override is untrusted input: it runs in a sandbox (Jinja's
``ImmutableSandboxedEnvironment``), and if it fails when sent, the built-in is sent.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from notifier.delivery import messages
from notifier.delivery.channels.base import SUBSTITUTED, TIMES, Content, token
from notifier.delivery.sms_segments import encoding, segments
from notifier.events import RATING, Event
from notifier.markdown import to_html, to_text
from notifier.statuses import ChannelName, Locale, TemplatePart

log = logging.getLogger(__name__)
_ROOT = Path(__file__).with_name("templates")
# One set of templates per event (``notifier.events.Event``).
EVENTS = tuple(Event)
# The parts of an event's message with a template each, and their files. In-app
# messages have none of their own: the email subject is their title, the SMS text their body.
PARTS: dict[str, str] = {
    TemplatePart.email_subject: "email/{event}/subject.{locale}.txt",
    TemplatePart.email_text: "email/{event}/body.{locale}.txt",
    TemplatePart.email_html: "email/{event}/body.{locale}.html",
    TemplatePart.sms: "sms/{event}.{locale}.txt",
}
# A rating prompt's in-app body: it is answered with the inbox's score buttons (the inbox
# API's ``rating``), not by a reply as its SMS text asks. Built in only (no ``TemplatePart``).
INAPP_RATING = "inapp/rating.{locale}.txt"
# (event, locale, part) -> Jinja source: the overrides ``render`` prefers to the files.
Overrides = Mapping[tuple[str, str, str], str]
# The longest text or list an override may build with ``*`` (the sandbox bounds ``range``
# only), so that no template can make a worker allocate gigabytes.
_MAX_PRODUCT = 100_000
# Compiled overrides kept per worker: a batch hands over the sources, compiled once here.
_COMPILED = 256

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


def _configure(env: jinja2.Environment, html: bool) -> jinja2.Environment:
    env.filters["markdown"] = to_html
    env.filters["plaintext"] = to_text
    env.filters["text_on"] = text_on
    env.globals["TONES"] = TONES
    # A token is our own constant (%%name%%); its value is escaped when substituted.
    env.globals["token"] = lambda name: Markup(token(name, html_part=html))  # noqa: S704
    env.globals.pop("lipsum", None)  # random text of any size: no use in a message
    return env


_OPTIONS: dict[str, Any] = {
    "loader": jinja2.FileSystemLoader(_ROOT),
    "undefined": jinja2.StrictUndefined,
    "keep_trailing_newline": False,
    "trim_blocks": True,
    "lstrip_blocks": True,
}


@cache
def _env(html: bool) -> jinja2.Environment:
    # Text and SMS bodies are not HTML, so only the HTML part is autoescaped.
    return _configure(jinja2.Environment(autoescape=html, **_OPTIONS), html)  # noqa: S701


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox (no unsafe attributes, no changing the context's lists and dicts,
    which a worker shares between renders) with ``*`` and ``**`` bounded."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            raise SecurityError("** is not allowed in a message template")
        sized = [v for v in (left, right) if isinstance(v, str | list | tuple)]
        counts = [v for v in (left, right) if isinstance(v, int)]
        if sized and counts and len(sized[0]) * counts[0] > _MAX_PRODUCT:
            raise SecurityError("the text or list would be too long")
        return operator.mul(left, right)


@cache
def sandbox(html: bool) -> jinja2.Environment:
    """The environment an override is compiled in: the built-ins' filters, globals and
    loader (an override may import their macros), sandboxed; autoescaped for ``html``."""
    return _configure(_Sandbox(autoescape=html, **_OPTIONS), html)


@lru_cache(maxsize=_COMPILED)
def _compiled(source: str, html: bool) -> jinja2.Template:
    return sandbox(html).from_string(source)


def builtin_path(event: str, locale: str, part: str) -> str:
    """The file (under ``templates/``) of ``event``'s built-in ``part`` in ``locale``.
    Raises KeyError for an unknown ``part``."""
    return PARTS[part].format(event=event, locale=locale)


def builtin_source(event: str, locale: str, part: str) -> str:
    """The text of ``builtin_path``'s file."""
    return (_ROOT / builtin_path(event, locale, part)).read_text(encoding="utf-8")


class TemplateFailed(Exception):
    """A part failed to render in a ``render(fallback=False)``: which ``part``, whether it
    was an ``overridden`` one, and the ``error`` (Jinja's, or what the template raised)."""

    def __init__(self, part: str, overridden: bool, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.part = part
        self.overridden = overridden
        self.error = error


def _part(
    event: str,
    locale: str,
    part: str,
    context: dict[str, Any],
    overrides: Overrides | None,
    fallback: bool,
) -> str:
    html = part == "email_html"
    if html:  # the layout's words are per locale; its CSS is inlined once rendered
        context = {**context, "locale": locale}
        # A time left as its token (``messages.with_time_tokens``) takes the escaped
        # value here, as ``token(name)`` does in this part.
        for name in TIMES:
            if context.get(name) == token(name):
                context[name] = token(name, html_part=True)
    finish = inline_css if html else str.strip
    source = overrides.get((event, locale, part)) if overrides else None
    if source is not None:
        try:
            return finish(_compiled(source, html).render(context).strip())
        except Exception as exc:
            if not fallback:
                raise TemplateFailed(part, True, exc) from exc
            # Checked when saved, yet real data can still break it: the customer gets
            # the built-in message rather than none.
            log.warning(
                "the %s override of %s (%s) failed, the built-in was used: %s: %s",
                part,
                event,
                locale,
                type(exc).__name__,
                exc,
            )
    try:
        template = _env(html).get_template(builtin_path(event, locale, part))
        return finish(template.render(context).strip())
    except Exception as exc:
        if fallback:
            raise
        raise TemplateFailed(part, False, exc) from exc


def render_part(
    event: str, locale: str, part: str, context: dict[str, Any], overrides: Overrides
) -> str:
    """One part of ``event``'s message, as ``render(fallback=False)`` renders it (an SMS
    text not yet ``sms_safe``). Raises ``TemplateFailed``."""
    return _part(event, locale, part, context, overrides, fallback=False)


def render(
    event: str,
    channel: str,
    locale: str,
    context: dict[str, Any],
    overrides: Overrides | None = None,
    *,
    fallback: bool = True,
    sms_max_segments: int | None = None,
    values: Mapping[str, str] | None = None,
    ucs2: bool = False,
) -> Content:
    """``event``'s message (an ``Event``) for ``channel`` ("email", "sms" or "inapp") in
    ``locale``.

    An unknown locale falls back to English. Email gets subject, text and HTML (the
    HTML template autoescaped, with ``locale`` added to ``context``, update bodies
    through ``markdown``, its CSS then inlined; the text part's through ``plaintext``);
    SMS only text, its body through ``plaintext``, made ``sms_safe`` and, with
    ``sms_max_segments``, fitted to that many segments (``fit_sms``, measured with the
    tokens as ``values``: token name -> the longest value a recipient will get, and as
    UCS-2 when ``ucs2``: some recipient's value is not GSM-7); in-app the email subject
    as title and the SMS text as body (uncut), but a rating prompt's body is its own
    (``INAPP_RATING``: choose a score, not reply).
    ``overrides`` (``message_templates.current``) replace the built-in parts they
    name; one that raises is replaced by the built-in, unless ``fallback`` is False
    (a preview): then any part that raises raises ``TemplateFailed``.
    Raises jinja2's TemplateNotFound for an unknown event and UndefinedError when
    ``context`` lacks a value a template uses.
    """
    locale = locale if locale in Locale.__members__ else Locale.en

    def part(name: str) -> str:
        return _part(event, locale, name, context, overrides, fallback)

    if channel == ChannelName.sms:
        if sms_max_segments is None:
            return Content(subject="", text=sms_safe(part("sms")))

        def sms(said: dict[str, Any]) -> str:
            return sms_safe(_part(event, locale, "sms", said, overrides, fallback))

        return Content(
            subject="", text=fit_sms(sms, context, sms_max_segments, values or {}, ucs2=ucs2)
        )
    subject = part("email_subject")
    if channel == ChannelName.inapp:
        if event in RATING:
            path = INAPP_RATING.format(locale=locale)
            body = _env(False).get_template(path).render(context).strip()
            return Content(subject=subject, text=body)
        return Content(subject=subject, text=part("sms"))
    return Content(subject=subject, text=part("email_text"), html=part("email_html"))


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


def fit_sms(
    render_sms: Callable[[dict[str, Any]], str],
    context: dict[str, Any],
    max_segments: int,
    values: Mapping[str, str],
    *,
    ucs2: bool = False,
) -> str:
    """The SMS text (``render_sms`` of a context, made ``sms_safe``) rendered so that,
    with each token replaced by its value in ``values`` (the longest a recipient gets,
    times in their zone included; tokens not there count as written), it costs at most
    ``max_segments`` segments:
    ``body_short`` (the update's words) is cut, with an ellipsis, as little as that takes.
    Everything else stays, the link to the full update above all; when even an empty
    body does not fit, the text goes uncut rather than without its link (a title that
    long is the sender's choice).
    ``ucs2``: measure as UCS-2 whatever the text (a value substituted later makes it so).
    """
    ucs2 = ucs2 or any(encoding(v) != "GSM-7" for v in values.values())

    def text(body: str) -> str:
        return render_sms({**context, "body_short": body})

    def fits(said: str) -> bool:
        for name in SUBSTITUTED:
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
