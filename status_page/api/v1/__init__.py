"""Ops API v1: every operation, gathered from one module per resource."""

from status_page.api.routing import Api
from status_page.api.v1 import (
    audit_log,
    components,
    contacts,
    customers,
    follow_ups,
    incidents,
    maintenance,
    notifications,
    problems,
    reports,
    templates,
)

API = Api(
    "",
    [
        *components.api.operations,
        *incidents.api.operations,
        *maintenance.api.operations,
        *problems.api.operations,
        *customers.api.operations,
        *notifications.api.operations,
        *templates.api.operations,
        *follow_ups.api.operations,
        *contacts.api.operations,
        *audit_log.api.operations,
        *reports.api.operations,
    ],
)

__all__ = ["API"]
