"""Page languages: which one a visitor gets, the texts in it, and dates in the page's zone.

Texts are gettext messages (English is the message id) with Japanese catalogues in
``locale/ja/*.po``, one per part of the site, read with Babel at start-up.
"""

from __future__ import annotations

import functools
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import hdrs, web
from babel import dates
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "ja")
DEFAULT = "en"
COOKIE = "lang"
LOCALE_DIR = Path(__file__).with_name("locale")


def negotiate(request: web.Request, preferred: str | None = None) -> str:
    """``?lang=``, then the cookie it sets, then ``preferred`` (a subscriber's saved
    language, on pages reached from their messages), then ``Accept-Language``."""
    # Parsing an absent query string or Cookie header still costs: every cached page
    # negotiates, and most requests carry neither.
    asked = request.query.get("lang") if request.query_string else None
    cookie = request.cookies.get(COOKIE) if hdrs.COOKIE in request.headers else None
    for chosen in (asked, cookie, preferred):
        if chosen in LANGUAGES:
            return chosen
    return from_accept_language(request.headers.get("Accept-Language", ""))


@functools.lru_cache(maxsize=256)  # browsers send a handful of distinct headers
def from_accept_language(header: str) -> str:
    """The best of ``LANGUAGES`` for an ``Accept-Language`` (RFC 9110 §12.5.4), or ``DEFAULT``.

    Tags are ordered by q-value, then by position; ``q=0`` and malformed q-values are
    left out; ``ja-JP`` matches ``ja``.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    preferred = [tag for _, _, tag in sorted(weighted)]
    return negotiate_locale(preferred, list(LANGUAGES), sep="-") or DEFAULT


def translations(lang: str, directory: Path = LOCALE_DIR) -> NullTranslations:
    """Every catalogue of ``lang`` merged; English needs none (the ids are English)."""
    merged: NullTranslations = NullTranslations()
    for path in sorted((directory / lang).glob("*.po")):
        with path.open("rb") as po:
            catalog = read_po(po, locale=lang)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = Translations(compiled)
        if isinstance(merged, Translations):
            merged.merge(part)
        else:
            merged = part
    return merged


def format_datetime(value: datetime, lang: str, zone: ZoneInfo) -> str:
    """``Nov 23, 2026, 18:30 JST`` / ``2026年11月23日 18:30 JST``: always with the zone."""
    local = value.astimezone(zone)
    return f"{format_date(local, lang, zone)} {local.strftime('%H:%M %Z')}"


def format_date(value: datetime, lang: str, zone: ZoneInfo) -> str:
    """``Nov 23, 2026`` / ``2026年11月23日``: ``value``'s date in ``zone`` (CLDR skeleton yMMMd)."""
    return dates.format_skeleton("yMMMd", value.astimezone(zone), tzinfo=zone, locale=lang)


def format_month(value: datetime, lang: str, zone: ZoneInfo) -> str:
    """``November 2026`` / ``2026年11月``: ``value``'s month in ``zone`` (CLDR skeleton yMMMM)."""
    return dates.format_skeleton("yMMMM", value.astimezone(zone), tzinfo=zone, locale=lang)
