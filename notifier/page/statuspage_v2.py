"""Atlassian Statuspage v2 documents (summary.json and friends) built from our records,
with Statuspage's field names, enumerations and nesting, so tools that read a
Statuspage read Forewarn unchanged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from notifier.page.overview import indicator
from notifier.statuses import ComponentStatus, IncidentKind
from notifier.tables import Component, ComponentGroup, Incident, IncidentUpdate

PAGE_ID = "forewarn"
RECENT = 50
ACTIVE_MAINTENANCE = ("in_progress", "verifying")


def _when(value: datetime | None) -> str | None:
    return (
        None if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class Documents:
    """Reads the records once per request and renders any of the documents."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def load(self, session: AsyncSession) -> None:
        """Read the visible components, the groups and the public incidents (not cancelled).

        Call once before rendering; the other methods read what this loaded.
        """
        components = await session.scalars(
            select(Component).order_by(Component.position, Component.name)
        )
        self.components = [c for c in components.all() if c.visible]
        self.groups = (
            await session.scalars(select(ComponentGroup).order_by(ComponentGroup.position))
        ).all()
        incidents = await session.scalars(
            select(Incident)
            .where(Incident.public.is_(True), Incident.status != "cancelled")
            .order_by(Incident.created_at.desc())
        )
        self.incidents = incidents.all()

    def page(self) -> dict[str, Any]:
        """The ``page`` object: id, name, url, time zone, and the newest change (``updated_at``)."""
        stamps = [c.updated_at for c in self.components] + [i.updated_at for i in self.incidents]
        return {
            "id": PAGE_ID,
            "name": self._settings.page_name,
            "url": str(self._settings.public_url).rstrip("/"),
            "time_zone": self._settings.page_time_zone,
            "updated_at": _when(max(stamps, default=None)),
        }

    def status(self) -> dict[str, str]:
        """The ``status`` object (``indicator``, ``description``) of the visible components."""
        level, text = indicator([ComponentStatus(c.status) for c in self.components])
        return {"indicator": level, "description": text}

    def component(self, c: Component) -> dict[str, Any]:
        """One component as Statuspage writes it (``group: false``; times in ISO 8601 UTC, ms)."""
        return {
            "id": c.id,
            "name": c.name,
            "status": c.status,
            "created_at": _when(c.created_at),
            "updated_at": _when(c.updated_at),
            "position": c.position,
            "description": c.description or None,
            "showcase": c.visible,
            "start_date": None,
            "group_id": c.group_id,
            "page_id": PAGE_ID,
            "group": False,
            "only_show_if_degraded": c.only_show_if_degraded,
        }

    def components_list(self) -> list[dict[str, Any]]:
        """The visible components, then each group that has any as a ``group: true`` entry
        whose status is its members' worst and ``components`` their ids.
        """
        out = [self.component(c) for c in self.components]
        for g in self.groups:
            members = [c for c in self.components if c.group_id == g.id]
            if not members:
                continue
            statuses = [ComponentStatus(c.status) for c in members]
            worst = max(statuses, key=lambda s: s.severity)
            out.append(
                {
                    "id": g.id,
                    "name": g.name,
                    "status": worst,
                    "created_at": _when(g.created_at),
                    "updated_at": _when(g.updated_at),
                    "position": g.position,
                    "description": g.description or None,
                    "showcase": False,
                    "start_date": None,
                    "group_id": None,
                    "page_id": PAGE_ID,
                    "group": True,
                    "only_show_if_degraded": False,
                    "components": [c.id for c in members],
                }
            )
        return out

    def incident(self, i: Incident) -> dict[str, Any]:
        """One incident or maintenance with its updates (newest first) and affected components.

        Maintenance gets ``impact: "maintenance"`` and ``scheduled_for``/``scheduled_until``.
        """
        doc = {
            "id": i.id,
            "name": i.title,
            "status": i.status,
            "created_at": _when(i.created_at),
            "updated_at": _when(i.updated_at),
            "monitoring_at": _when(i.monitoring_at),
            "resolved_at": _when(i.resolved_at),
            "impact": "maintenance" if i.kind == IncidentKind.maintenance else i.impact,
            "shortlink": f"{str(self._settings.public_url).rstrip('/')}/incidents/{i.id}",
            "started_at": _when(i.started_at),
            "page_id": PAGE_ID,
            "incident_updates": [self.update(u) for u in i.updates],
            "components": [self.component(a.component) for a in i.affected],
        }
        if i.kind == IncidentKind.maintenance:
            doc["scheduled_for"] = _when(i.scheduled_for)
            doc["scheduled_until"] = _when(i.scheduled_until)
        return doc

    def update(self, u: IncidentUpdate) -> dict[str, Any]:
        """One incident update as Statuspage writes it (``display_at`` and ``updated_at`` are
        when it was posted; no tweets).
        """
        return {
            "id": u.id,
            "status": u.status,
            "body": u.body,
            "incident_id": u.incident_id,
            "created_at": _when(u.created_at),
            "updated_at": _when(u.created_at),
            "display_at": _when(u.created_at),
            "affected_components": u.affected_components,
            "deliver_notifications": u.notify,
            "custom_tweet": None,
            "tweet_id": None,
        }

    def _incidents(self, kind: str, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
        chosen = [
            i
            for i in self.incidents
            if i.kind == kind and (statuses is None or i.status in statuses)
        ]
        return [self.incident(i) for i in chosen[:RECENT]]

    def render(self, name: str) -> dict[str, Any]:
        """One of the documents by its path below /api/v2/."""
        unresolved = ("investigating", "identified", "monitoring")
        documents: dict[str, Callable[[], dict[str, Any]]] = {
            "summary.json": lambda: {
                "components": self.components_list(),
                "incidents": self._incidents("incident", unresolved),
                "scheduled_maintenances": self._incidents(
                    "maintenance", ("scheduled", *ACTIVE_MAINTENANCE)
                ),
                "status": self.status(),
            },
            "status.json": lambda: {"status": self.status()},
            "components.json": lambda: {"components": self.components_list()},
            "incidents.json": lambda: {"incidents": self._incidents("incident")},
            "incidents/unresolved.json": lambda: {
                "incidents": self._incidents("incident", unresolved)
            },
            "scheduled-maintenances.json": lambda: {
                "scheduled_maintenances": self._incidents("maintenance")
            },
            "scheduled-maintenances/upcoming.json": lambda: {
                "scheduled_maintenances": self._incidents("maintenance", ("scheduled",))
            },
            "scheduled-maintenances/active.json": lambda: {
                "scheduled_maintenances": self._incidents("maintenance", ACTIVE_MAINTENANCE)
            },
        }
        return {"page": self.page(), **documents[name]()}


NAMES = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
