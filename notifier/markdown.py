"""Markdown of update bodies to safe HTML: markdown-it renders (raw HTML off), nh3
sanitises, so a <script> or a javascript: link in an update never reaches a browser
or a mail client. ``to_text`` gives the same bodies as plain text for text channels."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "breaks": True})


def to_html(text: str, top: int = 1) -> Markup:
    """``top``: the level a ``#`` heading of the body gets, so that headings written in
    an update sit under the page's own (an update under an h3 passes 4)."""
    parser = _parser()
    tokens = parser.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + top - 1)}"
    html = parser.renderer.render(tokens, parser.options, {})
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704  (sanitised by nh3 just above)


# Text keeps only these link targets, as the HTML path (nh3's url_schemes) does.
_TEXT_SCHEMES = ("http://", "https://", "mailto:")


class _EveryLink(MarkdownIt):
    """Every target becomes a link token, so a javascript: one loses its target but
    keeps its label (markdown-it's own check would leave the whole "[x](...)" as text);
    ``_link`` then keeps only the schemes the HTML path allows."""

    def validateLink(self, url: str) -> bool:
        return True


@cache
def _text_parser() -> MarkdownIt:
    return _EveryLink("commonmark", {"html": False, "breaks": True})


def _inline(tokens: list[Token]) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (href, where its label starts in ``out``)
    for token in tokens:
        if token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif token.type == "image":
            out.append(_inline(token.children or []))
        elif token.type == "link_open":
            links.append((str(token.attrGet("href") or ""), len(out)))
        elif token.type == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:])
            del out[start:]
            out.append(_link(label, href))
    return "".join(out)


def _link(label: str, href: str) -> str:
    if not href.lower().startswith(_TEXT_SCHEMES):
        return label
    if label in (href, href.removeprefix("mailto:")):
        return label
    return f"{label} ({href})" if label else href


def to_text(text: str) -> str:
    """Markdown ``text`` as plain text for SMS, in-app messages and an email's text part.

    CommonMark as markdown-it parses it (raw HTML off, as ``to_html``): emphasis,
    strong and code marks are dropped; a link becomes ``label (https://url)``, or the
    URL alone when it is its own label; only http, https and mailto targets are kept
    (any other loses its target and keeps its label); an image becomes its alt text;
    list items ``- item`` / ``1. item`` one a line (nested ones indented two spaces);
    a heading its text on its own line; a blockquote its text; code blocks their code.
    Blocks are separated by one blank line, line breaks kept, no trailing whitespace.
    """
    blocks: list[str] = []
    lists: list[int | None] = []  # per open list: the next number, or None for bullets
    marker = ""  # the list marker the next block starts with
    last_in_list = False
    for token in _text_parser().parse(text):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            if not lists:
                last_in_list = False  # a new list stands apart from what came before
            start = token.attrGet("start") or 1 if kind == "ordered_list_open" else None
            lists.append(None if start is None else int(start))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            number = lists[-1]
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                lists[-1] = number + 1
        elif kind in ("inline", "code_block", "fence"):
            body = _inline(token.children or []) if kind == "inline" else token.content
            indent = "  " * max(0, len(lists) - 1) if lists else ""
            if lists and not marker:
                indent += "  "  # a later paragraph of the same item
            lines = body.rstrip("\n").split("\n")
            lines = [indent + marker + lines[0]] + [indent + line for line in lines[1:]]
            if blocks:
                blocks.append("\n" if lists and last_in_list else "\n\n")
            blocks.append("\n".join(line.rstrip() for line in lines))
            marker = ""
            last_in_list = bool(lists)
    return "".join(blocks).strip()
