"""SQLAlchemy tables, one module per group of records; import all for the metadata."""

from notifier.tables.access import ApiKey, AuditEntry, IdempotencyRecord
from notifier.tables.components import Component, ComponentGroup, ComponentStatusChange
from notifier.tables.customers import Customer
from notifier.tables.incidents import Incident, IncidentComponent, IncidentUpdate
from notifier.tables.problems import DeliveryProblem, DeliveryProblemCustomer, DeliveryProblemUpdate

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Component",
    "ComponentGroup",
    "ComponentStatusChange",
    "Customer",
    "DeliveryProblem",
    "DeliveryProblemCustomer",
    "DeliveryProblemUpdate",
    "IdempotencyRecord",
    "Incident",
    "IncidentComponent",
    "IncidentUpdate",
]
