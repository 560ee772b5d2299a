"""Page languages (``status_page/i18n.py``): every text of the pages has its Japanese
translation, the catalogues hold nothing that no page uses, and a visitor gets the
language they ask for.

Messages are extracted as Babel extracts them (Jinja's extractor over the templates,
Python's over status_page's modules); translations are read as the site reads them
(``i18n.translations``, every catalogue merged).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import status_page
from status_page import i18n
from tests.conftest import Client
from tests.status_page.pages import JA, get, one_of_each_page, text_of

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


# Which language a visitor gets


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja", "ja"),
        ("ja-JP,en;q=0.5", "ja"),
        ("en;q=0.5, ja;q=0.8", "ja"),
        ("ja;q=0, en", "en"),
        ("ja;q=junk, en", "en"),
        ("fr, de", "en"),
        ("", "en"),
    ],
)
def test_accept_language_is_read_by_q_value_as_rfc_9110_says(header: str, expected: str) -> None:
    assert i18n.from_accept_language(header) == expected


@pytest.mark.parametrize(
    "how",
    [
        {"query": "?lang=ja"},
        {"headers": {"Cookie": "lang=ja"}},
        {"headers": JA},
    ],
    ids=["query", "cookie", "accept-language"],
)
async def test_every_page_is_in_japanese_when_asked(
    client: Client, admin: dict[str, str], how: dict[str, Any]
) -> None:
    paths = await one_of_each_page(client, admin)
    now = datetime.now(UTC)
    japanese = {
        "/": [
            "一部のシステムで障害が発生しています",
            "発生中の障害",
            "影響度：大",  # noqa: RUF001  (Japanese punctuation)
            "調査中",
            "次回の更新は 2030年1月1日 06:30 UTC までにお知らせします",
            "メンテナンス",
            "予定",
            "2030年1月1日 02:00 UTC 〜 2030年1月1日 04:00 UTC",
            "部分的な障害",
            "部分的な障害, 稼働率 ",
            "以降の稼働率 ",  # the component is new: counted since its creation
            "過去の障害",
            "報告された障害はありません。",
            "部分的な障害を 30% の停止",
        ],
        "incidents": [
            "期間",
            "から継続中（1分未満経過）",  # noqa: RUF001
            "次回の更新",
            "影響を受けるコンポーネント",
            "Website: 部分的な障害",
            "更新情報",
            "新しい順に表示しています。",
        ],
        "maintenance": [
            "計画メンテナンス",
            "予定時間",
            "2030年1月1日 02:00 UTC 〜 2030年1月1日 04:00 UTC",
        ],
        "/history": [
            "障害履歴",
            f"{now.year}年{now.month}月",
            "Slow pages",
            "影響度：大 · 調査中",  # noqa: RUF001
        ],
    }
    footer = ["時刻は UTC で表示しています。", "更新情報の配信登録", "障害履歴", "API ドキュメント"]

    for path in paths:
        html = await get(client, path + how.get("query", ""), headers=how.get("headers"))
        page = text_of(html)
        assert '<html lang="ja">' in html
        key = path if path in japanese else path.split("/")[1]
        for words in japanese[key] + footer:
            assert words in page, (path, words)
        for english in ("Operational", "Updates", "Incident history", "impact", "Posted"):
            assert english not in page, (path, english)


async def test_a_not_found_page_is_in_the_visitors_language(client: Client) -> None:
    html = await get(client, "/incidents/nope", status=404, headers=JA)

    assert '<html lang="ja">' in html
    assert "ページが見つかりません" in text_of(html)


async def test_the_language_switch_keeps_the_address_it_is_read_at(client: Client) -> None:
    # Relative to the page's own address: the static snapshot serves one 404 page at every
    # unknown address and the paused page at /subscribe, so neither may name a path.
    history = await get(client, "/history?month=2026-10")
    missing = await get(client, "/no-such-page", status=404, headers=JA)

    assert 'href="?month=2026-10&amp;lang=ja" lang="ja"' in history
    assert 'href="?lang=en" lang="en"' in missing
