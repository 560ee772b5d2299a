"""Ops' overrides of the built-in message templates: listed, checked when saved, used when sent.

One override per (event, locale, part) (``notifier.tables.MessageTemplate``); the
built-ins are the files ``rendering`` reads. A source is checked before it is saved:
it must compile in the sandbox, use no variable its event's context lacks and no
per-recipient token that does not exist, and render with the event's sample data
(``template_samples``). The sender reads every override once per batch (``current``),
so a change reaches the next batch of every worker without a restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import jinja2
from jinja2 import meta, nodes
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.delivery import messages, rendering, template_samples
from notifier.delivery.channels.base import RATING_LINKS, TOKENS
from notifier.errors import InvalidField
from notifier.events import Event
from notifier.statuses import Locale, TemplatePart
from notifier.tables import MessageTemplate

# A score link's token as rendered (``%%rating_url_4%%``, ``%%rating_url_4_html%%``): its name.
_SCORE_TOKEN = re.compile(r"%%(rating_url_[^%]*?)(?:_html)?%%")


def variables(event: Event) -> frozenset[str]:
    """The names ``messages.context`` gives ``event``'s templates (``messages.VARIABLES``)."""
    return messages.VARIABLES[event]


@dataclass(frozen=True)
class Template:
    """One template as ops see it: the source in use, the built-in one, and whether
    (and when, by which API key's name) it was overridden."""

    event: Event
    locale: Locale
    part: TemplatePart
    source: str
    builtin_source: str
    overridden: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


def _template(
    event: Event, locale: Locale, part: TemplatePart, row: MessageTemplate | None
) -> Template:
    builtin = rendering.builtin_source(event, locale, part)
    if row is None:
        return Template(event, locale, part, builtin, builtin, overridden=False)
    return Template(event, locale, part, row.source, builtin, True, row.updated_at, row.updated_by)


async def current(session: AsyncSession) -> dict[tuple[str, str, str], str]:
    """Every override's source by (event, locale, part), as ``rendering.render`` takes
    them: one query."""
    rows = await session.execute(
        select(
            MessageTemplate.event,
            MessageTemplate.locale,
            MessageTemplate.part,
            MessageTemplate.source,
        )
    )
    return {(r.event, r.locale, r.part): r.source for r in rows}


async def list_templates(session: AsyncSession) -> list[Template]:
    """Every (event, locale, part), in the order of ``Event``, ``Locale`` and
    ``TemplatePart``, with its source: the override's, or the built-in's."""
    rows = {(r.event, r.locale, r.part): r for r in await session.scalars(select(MessageTemplate))}
    return [
        _template(event, locale, part, rows.get((event, locale, part)))
        for event in Event
        for locale in Locale
        for part in TemplatePart
    ]


async def put(
    session: AsyncSession,
    event: Event,
    locale: Locale,
    part: TemplatePart,
    source: str,
    *,
    by: str,
    now: datetime,
) -> tuple[Template, bool]:
    """Override ``part`` of ``event`` in ``locale`` with ``source`` (``check``-ed first:
    raises InvalidField naming ``source``); returns it and whether it was not overridden
    before. ``by`` is the API key's name."""
    check(event, locale, part, source)
    row = await session.get(MessageTemplate, (event.value, locale.value, part.value))
    created = row is None
    if row is None:
        row = MessageTemplate(event=event.value, locale=locale.value, part=part.value)
        session.add(row)
    row.source, row.updated_at, row.updated_by = source, now, by
    await session.flush()
    return _template(event, locale, part, row), created


async def revert(
    session: AsyncSession, event: Event, locale: Locale, part: TemplatePart
) -> Template:
    """Drop the override of ``part`` of ``event`` in ``locale``, if any: the built-in is
    used again. Returns the template as it now is."""
    await session.execute(
        delete(MessageTemplate).where(
            MessageTemplate.event == event.value,
            MessageTemplate.locale == locale.value,
            MessageTemplate.part == part.value,
        )
    )
    return _template(event, locale, part, None)


def check(
    event: Event, locale: Locale, part: TemplatePart, source: str, field: str = "source"
) -> None:
    """Refuse a source that cannot be sent, naming ``field`` (an ``InvalidField``): a
    Jinja syntax error or unknown filter (with its line), a variable the event's
    context does not give (``variables``; the globals such as ``token`` aside), a
    ``token`` name that is no per-recipient value (``tokens``), or an error when
    rendered with the event's sample data (the sandbox's refusals included).
    """
    html = part == TemplatePart.email_html
    env = rendering.sandbox(html)
    try:
        tree = env.parse(source)
        env.compile(tree)  # unknown filters and tests are found here
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidField(field, f"line {exc.lineno}: {exc.message}") from None
    known = variables(event)
    used = meta.find_undeclared_variables(tree) - _declared(tree)
    unknown = sorted(used - known - set(env.globals))
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise InvalidField(
            field,
            f"unknown variable {names}: {event} templates have " + ", ".join(sorted(known)),
        )
    allowed = tokens(event)
    for name in _token_names(tree, scored=event.asks_rating):
        if name not in allowed:
            said = ", ".join(TOKENS) + (", rating_url_<score>" if event.asks_rating else "")
            raise InvalidField(field, f"unknown token {name!r}: the tokens are {said}")
    overrides = {(event.value, locale.value, part.value): source}
    context = template_samples.context(event, locale, known)
    try:
        rendered = rendering.render_part(event, locale, part, context, overrides)
    except rendering.TemplateFailed as exc:
        raise InvalidField(field, f"fails with sample data: {exc}") from None
    # A score link named by an expression (``"rating_url_" ~ score``) is known once rendered.
    for name in _SCORE_TOKEN.findall(rendered):
        if name not in allowed:
            raise InvalidField(field, f"unknown token {name!r}: a score is 0 to 10")


def tokens(event: Event) -> frozenset[str]:
    """The per-recipient values ``event``'s templates may name with ``token(...)``: the
    greeting and the manage and unsubscribe links (``channels.base.TOKENS``), and for a
    rating prompt its score links ``rating_url_0`` .. ``rating_url_10`` (``RATING_LINKS``:
    the page's scale fills its own)."""
    return frozenset(TOKENS + (RATING_LINKS if event.asks_rating else ()))


def _declared(tree: nodes.Template) -> set[str]:
    """Names the template gives values itself: ``set``, ``for``, macros, imports. Jinja's
    ``find_undeclared_variables`` lists those set outside a ``block`` and used inside
    one (an HTML part that extends the layout), since a block has its own frame."""
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for imported in tree.find_all(nodes.FromImport):
        stored.update(n if isinstance(n, str) else n[1] for n in imported.names)
    stored.update(m.name for m in tree.find_all(nodes.Macro))
    return stored


def _token_names(tree: nodes.Template, *, scored: bool = False) -> Sequence[str]:
    """The names given to ``token(...)``; a name that is not a constant is refused, but
    with ``scored`` (a rating prompt's template) ``"rating_url_" ~ <expression>`` stands
    for ``rating_url_0`` (its value is checked once rendered)."""
    names = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "token":
            arg = call.args[0] if len(call.args) == 1 and not call.kwargs else None
            if isinstance(arg, nodes.Const):
                names.append(arg.value)
            elif scored and _is_score_link(arg):
                names.append(RATING_LINKS[0])
            else:
                names.append("")
    return [str(n) for n in names]


def _is_score_link(arg: nodes.Expr | None) -> bool:
    """``"rating_url_" ~ <expression>``, as the built-in prompts write their links."""
    if not isinstance(arg, nodes.Concat) or len(arg.nodes) != 2:
        return False
    first = arg.nodes[0]
    return isinstance(first, nodes.Const) and first.value == "rating_url_"
