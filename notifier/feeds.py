"""Atom and RSS feeds of incidents and maintenance (feedgen), for the page or a component."""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.tables import Component, Incident, IncidentComponent

RECENT = 50


async def feed(
    session: AsyncSession, settings: Settings, *, kind: str, component_id: str | None = None
) -> bytes:
    """The feed as bytes; ``kind`` is "atom" or "rss"."""
    base = str(settings.public_url).rstrip("/")
    title = settings.page_name
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
        title = f"{settings.page_name}: {component.name}"
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
        entry.title(f"{kind_label}: {incident.title} ({incident.status.replace('_', ' ')})")
        entry.published(incident.created_at)
        entry.updated(incident.updated_at)
        lines = [
            f"{u.created_at:%Y-%m-%d %H:%M} UTC - {u.status.replace('_', ' ')}: {u.body}"
            for u in incident.updates
        ]
        entry.description("\n\n".join(lines))
    return bytes(
        generator.atom_str(pretty=True) if kind == "atom" else generator.rss_str(pretty=True)
    )
