"""Server-rendered pages in the visitor's language (``render``), and the templates behind them."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from yarl import URL

from config import Settings
from notifier import markdown, translations
from status_page import brand, i18n, keys

COOKIE_MAX_AGE = 365 * 24 * 3600


class Templates:
    """One Jinja environment per language, each with its texts and date filters."""

    def __init__(self, settings: Settings) -> None:
        self.zone = ZoneInfo(settings.page_time_zone)
        self._settings = settings
        self._brand = brand.from_settings(settings)
        self._environments = {lang: self._environment(lang) for lang in i18n.LANGUAGES}

    def environment(self, lang: str = i18n.DEFAULT) -> jinja2.Environment:
        """The Jinja environment of ``lang`` (one of ``i18n.LANGUAGES``; KeyError otherwise)."""
        return self._environments[lang]

    def _environment(self, lang: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
        env.filters["markdown"] = markdown.to_html
        env.filters["datetime"] = partial(i18n.format_datetime, lang=lang, zone=self.zone)
        env.filters["date"] = partial(i18n.format_date, lang=lang, zone=self.zone)
        env.filters["month"] = partial(i18n.format_month, lang=lang, zone=self.zone)
        env.filters["site_name"] = _site_name
        # A record's field in this language where it has a translation, else its own text.
        env.filters["tr"] = lambda record, field: translations.text(record, field, lang)
        env.filters["unbroken"] = unbroken
        env.globals.update(
            lang=lang,
            languages=i18n.LANGUAGES,
            page_name=self._settings.page_name,
            brand=self._brand,
            time_zone=self._settings.page_time_zone,
        )
        return env


def unbroken(text: str) -> str:
    """``text`` with no-break spaces for spaces, so that a short phrase such as a date
    ("Dec 1, 2026") never wraps inside (Unicode UAX #14: U+00A0 is class GL)."""
    return text.replace(" ", "\u00a0")


def _site_name(url: str) -> str:
    """The host of ``url`` without a leading ``www.`` ("acme.com"), to name a site."""
    host = URL(url).host or url
    return host.removeprefix("www.")


def render(
    request: web.Request, name: str, *, status: int = 200, lang: str | None = None, **context: Any
) -> web.Response:
    """The template in the visitor's language (``lang``: the one a subscriber chose,
    unless the visitor picks another); ``?lang=`` is remembered in a cookie."""
    lang = i18n.negotiate(request, preferred=lang)
    template = request.app[keys.TEMPLATES].environment(lang).get_template(name)
    html = template.render(here=request.rel_url, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    if request.query.get("lang") in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", httponly=True
        )
    return response
