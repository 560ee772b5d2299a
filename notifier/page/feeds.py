"""Atom and RSS feeds of incidents and maintenance (feedgen), for the page or a component.

Each entry carries the updates as the page shows them: Markdown rendered and
sanitised by ``notifier.markdown``, sent as escaped HTML (Atom ``type="html"``, RSS
``<description>``). Every string is stripped of what XML 1.0 forbids first, so a
control character in a stored title cannot take a feed down.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier.control_characters import xml_safe
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.markdown import to_html
from notifier.tables import Component, Incident, IncidentComponent, IncidentUpdate

RECENT = 50


async def feed(
    session: AsyncSession, settings: Settings, *, kind: str, component_id: str | None = None
) -> bytes:
    """The feed as bytes; ``kind`` is "atom" or "rss". Raises NotFound for a
    component that does not exist or is hidden."""
    base = str(settings.public_url).rstrip("/")
    title = xml_safe(settings.page_name)
    stmt = (
        select(Incident)
        .where(Incident.public.is_(True), Incident.status != "cancelled")
        .order_by(Incident.updated_at.desc())
        .limit(RECENT)
    )
    if component_id is not None:
        component = await session.get(Component, component_id)
        if component is None or not component.visible:
            raise NotFound("component", component_id)
        title = f"{title}: {xml_safe(component.name)}"
        stmt = stmt.where(Incident.affected.any(IncidentComponent.component_id == component_id))
    incidents: Sequence[Incident] = (await session.scalars(stmt)).all()
    generator = FeedGenerator()
    generator.id(f"{base}/" if component_id is None else f"{base}/components/{component_id}")
    generator.title(f"{title} status")
    generator.link(href=f"{base}/", rel="alternate")
    generator.description(f"Incidents and maintenance of {title}")
    generator.language("en")
    generator.updated(max((i.updated_at for i in incidents), default=utcnow()))
    for incident in reversed(incidents):  # feedgen puts the last added first
        entry = generator.add_entry()
        url = f"{base}/incidents/{incident.id}"
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.link(href=url)
        kind_label = "Maintenance" if incident.kind == "maintenance" else "Incident"
        status = incident.status.replace("_", " ")
        entry.title(f"{kind_label}: {xml_safe(incident.title)} ({status})")
        entry.published(incident.created_at)
        entry.updated(incident.updated_at)
        html = "".join(_update_html(u) for u in incident.updates)
        # Atom <content type="html">; RSS gets the same as <description>.
        entry.content(xml_safe(html), type="html")
    return bytes(
        generator.atom_str(pretty=True) if kind == "atom" else generator.rss_str(pretty=True)
    )


def _update_html(update: IncidentUpdate) -> Markup:
    """One update as the page shows it: when and what phase, then its body."""
    when = f"{update.created_at:%Y-%m-%d %H:%M} UTC"
    phase = update.status.replace("_", " ")
    # Headings in a body sit under the entry's own title (an h2 in a feed reader).
    return Markup("<p><strong>{}</strong> ({})</p>{}").format(
        escape(phase), escape(when), to_html(update.body, top=3)
    )
