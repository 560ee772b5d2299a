"""One example request body per ops API body model, shown by the API reference.

Each is a body an operator would send; tests/status_page/api/test_openapi.py checks
that every operation with a body has one, that it validates against the document's
schema and that the model accepts it. Ids are the shape the API hands out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from notifier.schemas.care import ContactCreate, FollowUpDone
from notifier.schemas.components import ComponentCreate, ComponentPatch, GroupCreate, GroupPatch
from notifier.schemas.customers import CustomerPut, CustomerSearch
from notifier.schemas.incidents import (
    IncidentCreate,
    IncidentPatch,
    IncidentResolve,
    IncidentUpdateCreate,
)
from notifier.schemas.maintenance import MaintenanceCancel, MaintenanceCreate, MaintenancePatch
from notifier.schemas.problems import ProblemCreate, ProblemResolve, ProblemUpdateCreate
from notifier.schemas.templates import TemplatePreview, TemplatePut

_COMPONENT = "01HZX3K7Q9V2B5N8M4C6D1F0GA"

EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    ComponentCreate: {
        "name": "Checkout API",
        "description": "Payments and orders.",
        "translations": {"ja": {"name": "決済API", "description": "お支払いとご注文"}},
    },
    ComponentPatch: {"status": "degraded_performance"},
    GroupCreate: {"name": "Storefront", "components": [_COMPONENT]},
    GroupPatch: {"name": "Storefront and checkout"},
    IncidentCreate: {
        "title": "Checkout errors",
        "body": "Some payments fail. We are investigating.",
        "impact": "major",
        "components": [{"component_id": _COMPONENT, "status": "partial_outage"}],
        "next_update_by": "2026-12-01T10:30:00Z",
        "translations": {
            "ja": {
                "title": "決済エラー",
                "body": "一部のお支払いが失敗しております。現在調査しております。",
            }
        },
    },
    IncidentPatch: {"impact": "minor", "translations": {"ja": {"title": "決済の遅延"}}},
    IncidentUpdateCreate: {
        "status": "identified",
        "body": "A faulty deploy; we are rolling it back.",
        "translations": {"ja": {"body": "不具合のある更新が原因と判明し、元に戻しております。"}},
    },
    IncidentResolve: {"body": "Payments work again. Sorry for the trouble."},
    MaintenanceCreate: {
        "title": "Database upgrade",
        "body": "Checkout may be slow for a few minutes.",
        "scheduled_for": "2026-12-05T02:00:00Z",
        "scheduled_until": "2026-12-05T03:00:00Z",
        "components": [_COMPONENT],
        "translations": {
            "ja": {
                "title": "データベースの更新",
                "body": "数分間、決済が遅くなる場合があります。",
            }
        },
    },
    MaintenancePatch: {"scheduled_until": "2026-12-05T03:30:00Z"},
    MaintenanceCancel: {"body": "Postponed: a new date follows."},
    ProblemCreate: {
        "reference": "ORD-10442",
        "kind": "delayed",
        "body": "Your parcel is held at the depot by the storm; it leaves tomorrow.",
        "eta": "2026-12-03T18:00:00Z",
        "customers": ["cust-8812"],
    },
    ProblemUpdateCreate: {"status": "in_progress", "body": "Your parcel left the depot."},
    ProblemResolve: {"body": "Delivered."},
    CustomerSearch: {"email": "ada@example.com"},
    CustomerPut: {
        "given_name": "Ada",
        "email": "ada@example.com",
        "locale": "en",
        "time_zone": "Europe/London",
        "follows": {"page": True},
    },
    TemplatePut: {"source": "{{ incident.title }}: {{ update.status_label }}"},
    TemplatePreview: {"event": "incident_created", "channel": "email", "locale": "en"},
    FollowUpDone: {"note": "Called back; refund issued."},
    ContactCreate: {
        "customer": "cust-8812",
        "subject_type": "incident",
        "subject_id": "01HZX3K7Q9V2B5N8M4C6D1F0GB",
        "channel": "phone",
        "contacted_at": "2026-12-01T09:45:00Z",
    },
}
