"""The HTML email layout (notifier/delivery/templates/email/_layout.html) every event's HTML
part extends, with its CSS inlined by ``rendering.render``."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

import pytest

from notifier.delivery import rendering
from notifier.delivery.channels.base import TOKENS, personalise, token
from notifier.events import Event
from tests.notifier.delivery.test_rendering import LOCALES, context, recipient

LOGO = "https://cdn.example.test/logo.png"
COMPANY = "https://www.example.test/"
# The events with a button to the public page: a delivery problem is private.
# The events that tell news of a subject (the layout's update, button, components):
# not the rating prompts, whose layout is the question and its score links.
NEWS = [e for e in rendering.EVENTS if not e.asks_rating]
PUBLIC = [e for e in NEWS if e.subject != "problem"]


class _Tree(HTMLParser):
    """An HTML document (css-inline's output: every element closed) as an ElementTree."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.builder = TreeBuilder()
        self.builder.start("document", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.builder.start(tag, {k: v or "" for k, v in attrs})
        if tag in self.VOID:
            self.builder.end(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.builder.end(tag)

    def handle_data(self, data: str) -> None:
        self.builder.data(data)


def parse(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    tree.builder.end("document")
    return tree.builder.close()


def email(event: str = Event.incident_updated, locale: str = "en", **overrides: Any) -> Element:
    """``event``'s HTML part, rendered (tokens left in) and parsed."""
    return parse(rendering.render(event, "email", locale, context(event, locale, **overrides)).html)


def style(element: Element) -> dict[str, str]:
    """An element's inline ``style`` as property -> value."""
    pairs = (d.split(":", 1) for d in element.get("style", "").split(";") if ":" in d)
    return {k.strip(): v.strip() for k, v in pairs}


def classed(doc: Element, name: str) -> list[Element]:
    """The elements of class ``name``, in document order."""
    return [e for e in doc.iter() if name in e.get("class", "").split()]


def one(doc: Element, name: str) -> Element:
    [found] = classed(doc, name)
    return found


def text(element: Element) -> str:
    return "".join(element.itertext())


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", rendering.EVENTS)
def test_the_header_names_the_page_and_shows_a_logo_only_when_configured(
    event: str, locale: str
) -> None:
    plain = email(event, locale)
    branded = email(event, locale, brand_logo_url=LOGO)

    for doc in (plain, branded):
        assert context(event, locale)["page_name"] in text(one(doc, "header"))
    assert list(plain.iter("img")) == []
    [logo] = one(branded, "header").iter("img")
    assert logo.get("src") == LOGO
    assert logo.get("alt") == ""  # the page's name is written beside it
    assert style(logo)["height"] == "40px"
    assert list(one(branded, "header").iter("a")) == []  # no company URL: no link


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", [Event.incident_created, Event.maintenance_scheduled])
def test_the_logo_links_to_the_company_site_when_one_is_configured(event: str, locale: str) -> None:
    doc = email(event, locale, brand_logo_url=LOGO, company_url=COMPANY)

    [link] = one(doc, "header").iter("a")
    assert link.get("href") == COMPANY
    [logo] = link.iter("img")
    assert logo.get("src") == LOGO
    # A link needs a name: the image says where it is from.
    assert logo.get("alt") == context(event, locale)["page_name"]
    # Without a logo there is nothing to link: the header is the page's name alone.
    assert list(one(email(event, locale, company_url=COMPANY), "header").iter("a")) == []


@pytest.mark.parametrize("event", NEWS)
def test_the_brand_colour_fills_the_header_and_the_button_with_readable_text(event: Event) -> None:
    default = email(event)
    purple = email(event, brand_color="#7b1fa2")
    yellow = email(event, brand_color="#ffd400")

    for doc, colour, ink in (
        (default, "#0b57d0", "#ffffff"),
        (purple, "#7b1fa2", "#ffffff"),
        (yellow, "#ffd400", "#1a1a1a"),
    ):
        header = style(one(doc, "header"))
        assert (header["background-color"], header["color"]) == (colour, ink)
        if event not in PUBLIC:
            continue
        cell = one(doc, "button-cell")
        assert (cell.get("bgcolor"), style(cell)["background-color"]) == (colour, colour)
        assert style(one(doc, "button-link"))["color"] == ink


def test_text_on_picks_the_colour_that_contrasts_more() -> None:
    assert rendering.text_on("#000000") == "#ffffff"
    assert rendering.text_on("#ffffff") == "#1a1a1a"
    assert rendering.text_on("#0b57d0") == "#ffffff"
    assert rendering.text_on("#ffd400") == "#1a1a1a"


# Per subject: (status, the chip's words in en and ja, its background colour)
STATUS_CHIPS = {
    "incident": [
        ("investigating", "Investigating", "調査中", "#fdecea"),
        ("identified", "Identified", "原因特定", "#fdf0e6"),
        ("monitoring", "Monitoring", "経過観察中", "#fff6dc"),
        ("resolved", "Resolved", "解決済み", "#e7f5ec"),
    ],
    "maintenance": [
        ("scheduled", "Scheduled", "予定", "#e8f0fb"),
        ("in_progress", "In progress", "作業中", "#e8f0fb"),
        ("completed", "Completed", "完了", "#e7f5ec"),
        ("cancelled", "Cancelled", "中止", "#eef0f2"),
    ],
    "problem": [
        ("open", "Open", "確認中", "#fdecea"),
        ("in_progress", "In progress", "対応中", "#fff6dc"),
        ("resolved", "Resolved", "解決済み", "#e7f5ec"),
    ],
}
# (event, status, en, ja, background): every event with each status of its subject.
CHIPS = [(e, *chip) for e in rendering.EVENTS for chip in STATUS_CHIPS[e.subject]]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("event", "status", "en", "ja", "background"), CHIPS)
def test_the_status_chip_says_the_status_in_words_and_in_colour(
    event: str, status: str, en: str, ja: str, background: str, locale: str
) -> None:
    doc = email(event, locale, status=status)

    chip = one(doc, "chip")

    assert text(chip) == (en if locale == "en" else ja)
    assert style(chip)["background-color"] == background
    label = "Status" if locale == "en" else "状況"
    assert text(one(doc, "status")).startswith(label)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", PUBLIC)
def test_the_affected_components_are_listed_when_there_are_any(event: str, locale: str) -> None:
    listed = text(one(email(event, locale), "components"))
    none = email(event, locale, components=[])

    assert all(name in listed for name in context(event, locale)["components"])
    assert classed(none, "components") == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", NEWS)
def test_the_button_links_the_page_except_for_a_private_delivery_problem(
    event: str, locale: str
) -> None:
    html = rendering.render(event, "email", locale, context(event, locale)).html
    doc = parse(html)

    buttons = classed(doc, "button-link")

    if event not in PUBLIC:
        assert buttons == []
        assert "http://status.test/" not in html
    else:
        [button] = buttons
        assert button.get("href") == "http://status.test/"
        assert text(button) == (
            "Follow it live on our status page"
            if locale == "en"
            else "ステータスページで最新の状況を見る"
        )
        # A table cell carries the colour (Outlook), the link the padding and the text.
        assert one(doc, "button-cell").tag == "td"
        assert list(one(doc, "button-cell")) == [button]
        assert one(doc, "button").tag == "table"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", rendering.EVENTS)
def test_the_footer_links_manage_and_unsubscribe_for_each_recipient(
    event: str, locale: str
) -> None:
    content = rendering.render(event, "email", locale, context(event, locale))
    url = "http://status.test/unsubscribe/abc?channel=email&x=1"

    doc = parse(personalise(content, recipient(locale, "Sam", url)).html)

    links = [a.get("href") for a in one(doc, "footer").iter("a")]
    assert links == ["http://status.test/manage/tok", url]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", rendering.EVENTS)
def test_every_token_survives_inlining_once_per_rendering(event: str, locale: str) -> None:
    html = rendering.render(event, "email", locale, context(event, locale)).html

    for name in TOKENS:
        assert token(name, html_part=True) in html, name


@pytest.mark.parametrize("event", NEWS)
def test_the_css_is_inlined_and_only_the_media_query_stays_in_a_style_element(
    event: str,
) -> None:
    doc = email(event)

    [kept] = [text(s) for s in doc.iter("style")]
    footer_link = next(one(doc, "footer").iter("a"))

    assert kept.strip().startswith("@media (max-width: 620px)")
    assert ".button-link { display: block !important;" in kept
    assert ".chip-red" not in kept  # inlined, not kept
    assert style(footer_link)["color"] == "#5f6368"
    [body] = doc.iter("body")
    assert style(body)["background-color"] == "#f4f5f7"
    assert style(one(doc, "container"))["max-width"] == "600px"
    if event in PUBLIC:
        assert style(one(doc, "button-link"))["display"] == "inline-block"
    [viewport] = [m for m in doc.iter("meta") if m.get("name") == "viewport"]
    assert viewport.get("content") == "width=device-width, initial-scale=1"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", NEWS)
def test_a_hidden_preheader_previews_the_update(event: str, locale: str) -> None:
    doc = email(event, locale)

    [body] = doc.iter("body")
    preheader = body[0]

    assert preheader.get("class") == "preheader"
    assert style(preheader)["display"] == "none"
    assert text(preheader).startswith(context(event, locale)["body_short"])


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", NEWS)
def test_the_text_part_says_what_the_html_part_says(event: Event, locale: str) -> None:
    values = context(event, locale)
    content = rendering.render(event, "email", locale, values)
    doc = parse(content.html)
    seen = text(doc)

    said = [values["status_label"], values["body"], values["page_name"]]
    unsaid: list[str] = []
    if event not in PUBLIC:
        # A problem's title is for ops; its customer reads the reference. It is private:
        # no link to the public page in either part. Once resolved, no ETA.
        said += [values["reference"]]
        (unsaid if event.closes else said).append(values["eta"])
        unsaid += [values["url"]]
    else:
        said += [values["title"], *values["components"], values["url"]]
        seen += one(doc, "button-link").get("href", "")
        # The last message of each, and the reminder, promise no next update.
        promises = not event.closes and event != Event.maintenance_reminder
        (said if promises else unsaid).append(values["next_update_by"])
        if event.subject == "maintenance":
            said += [values["window"]]
    for words in said:
        assert words in content.text, words
        assert words in seen, words
    for words in unsaid:
        assert words not in content.text, words
        assert words not in content.html, words
    assert "%%manage_url%%" in content.text
    assert "%%unsubscribe_url%%" in content.text


def test_what_the_layout_shows_is_escaped() -> None:
    values = context(Event.incident_updated, "en", page_name="A & <B>", components=["<i>x</i>"])
    html = rendering.render(Event.incident_updated, "email", "en", values).html
    doc = parse(html)

    assert text(one(doc, "header")).strip() == "A & <B>"
    assert list(doc.iter("i")) == []
    assert "&lt;i&gt;x&lt;/i&gt;" in html


@pytest.mark.parametrize(
    ("locale", "ask", "last"),
    [
        ("en", "we may ask you how well we kept you informed", "last message"),
        ("ja", "ご感想をお伺いすることがあります", "これで最後"),
    ],
)
def test_the_resolved_email_does_not_call_itself_the_last_message(
    locale: str, ask: str, last: str
) -> None:
    """A rating prompt may follow it (``notifier.care.prompts``)."""
    values = context(Event.incident_resolved, locale)
    content = rendering.render(Event.incident_resolved, "email", locale, values)
    for part in (content.text, text(parse(content.html))):
        assert ask in part
        assert last not in part
