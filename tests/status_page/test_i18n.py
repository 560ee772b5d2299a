"""Every text of the pages has its Japanese translation, and the catalogues hold nothing
that no page uses.

Messages are extracted as Babel extracts them (Jinja's extractor over the templates,
Python's over status_page's modules); translations are read as the site reads them
(``i18n.translations``, every catalogue merged).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import status_page
from status_page import i18n

PACKAGE = Path(status_page.__file__).parent
# Pages for developers, in English on purpose: the dev outbox and the API reference.
DEVELOPER_PAGES = {"dev_outbox.html", "api_docs.html"}
PAGE_CATALOGUES = {"base.po", "pages.po"}

Message = str | tuple[str, str]  # a msgid, or (singular, plural)


def _extracted() -> dict[Message, list[str]]:
    """Every message the pages and status_page's code use, with where it is used."""
    found: dict[Message, list[str]] = defaultdict(list)
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PACKAGE,
        method_map=[("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        if Path(filename).name in DEVELOPER_PAGES:
            continue
        key: Message = message if isinstance(message, str) else (message[0], message[1])
        found[key].append(f"{filename}:{lineno}")
    return found


MESSAGES = _extracted()


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)s|%%", text))


def test_the_pages_have_texts_to_translate() -> None:
    assert "All Systems Operational" in MESSAGES
    assert ("%(count)s day", "%(count)s days") in MESSAGES


def test_every_text_of_the_pages_has_a_japanese_translation() -> None:
    ja = i18n.translations("ja")
    missing = []
    for message, where in sorted(MESSAGES.items(), key=str):
        if isinstance(message, tuple):
            singular, plural = message
            translated = ja.ngettext(singular, plural, 1)
            untranslated = translated in (singular, "")
        else:
            translated = ja.gettext(message)
            untranslated = translated in (message, "")
        if untranslated:
            missing.append(f"{message!r} ({', '.join(where)})")

    assert not missing, "no Japanese translation for:\n" + "\n".join(missing)


def test_translations_keep_the_placeholders_of_their_texts() -> None:
    ja = i18n.translations("ja")
    for message in MESSAGES:
        source = message if isinstance(message, str) else message[0]
        translated = ja.gettext(message) if isinstance(message, str) else ja.ngettext(*message, 1)
        assert _placeholders(translated) == _placeholders(source), (source, translated)


def _catalogues() -> list[tuple[str, Message, str]]:
    """(file, id, translation) of every entry in every Japanese catalogue."""
    entries = []
    for path in sorted((i18n.LOCALE_DIR / "ja").glob("*.po")):
        with path.open("rb") as po:
            catalogue = read_po(po, locale="ja")
        for entry in catalogue:
            if not entry.id:
                continue  # the header
            key: Message = entry.id if isinstance(entry.id, str) else (entry.id[0], entry.id[1])
            string = entry.string
            translation = string if isinstance(string, str) else next(iter(string or ()), "")
            entries.append((path.name, key, translation))
    return entries


def test_no_entry_of_the_page_catalogues_is_unused() -> None:
    # Only the catalogues whose every text is written in a template or marked in code:
    # others also translate texts that code hands to a template as values (form errors),
    # which no extractor can see.
    unused = [
        f"{name}: {key!r}"
        for name, key, _ in _catalogues()
        if name in PAGE_CATALOGUES and key not in MESSAGES
    ]

    assert not unused, "translated but used nowhere:\n" + "\n".join(unused)


def test_a_text_in_two_catalogues_is_translated_the_same_in_both() -> None:
    # The catalogues are merged: a second, different translation would silently win.
    seen: dict[Message, tuple[str, str]] = {}
    for name, key, translation in _catalogues():
        first = seen.setdefault(key, (name, translation))
        assert first[1] == translation, (key, first, (name, translation))


@pytest.mark.parametrize(("count", "expected"), [(1, "1日"), (2, "2日"), (90, "90日")])
def test_japanese_has_one_plural_form(count: int, expected: str) -> None:
    ja = i18n.translations("ja")

    assert ja.ngettext("%(count)s day", "%(count)s days", count) % {"count": count} == expected
