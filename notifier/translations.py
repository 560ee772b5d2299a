"""A record's text in other languages: what is stored, how a patch changes it, what is shown.

Incidents (``title``), their updates (``body``), components and component groups
(``name``, ``description``) keep their own text in the page's default language
(English) and, in ``translations``, the same fields in other languages:
``{"ja": {"title": "決済エラー"}}``. A page or message in a language shows the
translation where there is one and the record's own text where there is not
(``text``). The Statuspage v2 JSON and the feeds have no language: they keep the
record's own text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from notifier.statuses import Locale
from notifier.tables.components import Translations

DEFAULT = Locale.en
# The languages a record may be translated into: every page language but the default.
TRANSLATED = tuple(lang.value for lang in Locale if lang is not DEFAULT)

__all__ = ["DEFAULT", "TRANSLATED", "Translations", "merged", "pick", "sent", "text"]


def text(record: Any, field: str, lang: str) -> str:
    """``record``'s ``field`` in ``lang``: its translation when it has one, else its own."""
    given: Mapping[str, Mapping[str, str]] = getattr(record, "translations", None) or {}
    own: str = getattr(record, field)
    return given.get(lang, {}).get(field) or own


def pick(sent: Mapping[str, Any] | None, fields: tuple[str, ...]) -> Translations | None:
    """The ``fields`` of a request's ``translations`` (language -> field -> text, None
    where not given) that belong to one record, as stored; None when there are none.
    A create body translates two records at once (an incident's title and its first
    update's body): each takes its own fields."""
    kept: Translations = {}
    for lang, given in (sent or {}).items():
        said = {f: v for f, v in (given or {}).items() if f in fields and v is not None}
        if said:
            kept[lang] = said
    return kept or None


def merged(
    current: Translations | None, patch: Mapping[str, Any], fields: tuple[str, ...]
) -> Translations | None:
    """``current`` changed by a PATCH's ``translations`` as JSON Merge Patch (RFC 7396)
    does: a text given replaces that language's field, ``null`` for a field removes it,
    ``null`` for a language removes the language; what is left out stays. None when
    nothing is left."""
    out: Translations = {lang: dict(said) for lang, said in (current or {}).items()}
    for lang, given in patch.items():
        if given is None:
            out.pop(lang, None)
            continue
        said = out.setdefault(lang, {})
        for field, value in given.items():
            if field not in fields:
                continue
            if value is None:
                said.pop(field, None)
            else:
                said[field] = value
    return {lang: said for lang, said in out.items() if said} or None


def sent(model: object) -> dict[str, Any]:
    """A request's ``translations`` model as sent (left-out keys absent, nulls kept);
    {} when there is none."""
    if not isinstance(model, BaseModel):  # None, or pydantic's MISSING
        return {}
    return model.model_dump(exclude_unset=True)
