"""SQLAlchemy tables, one module per group of records; import all for the metadata."""

from notifier.tables.access import ApiKey, AuditEntry, IdempotencyRecord
from notifier.tables.care import Contact, FollowUp, Rating, RatingPrompt
from notifier.tables.components import Component, ComponentGroup, ComponentStatusChange
from notifier.tables.customers import Customer
from notifier.tables.deliveries import (
    Delivery,
    InboxMessage,
    Notification,
    OutboxMessage,
    ProviderEvent,
)
from notifier.tables.incidents import Incident, IncidentComponent, IncidentUpdate, Promise
from notifier.tables.problems import DeliveryProblem, DeliveryProblemCustomer, DeliveryProblemUpdate
from notifier.tables.subscribers import Consent, Signup, Subscription, Suppression
from notifier.tables.templates import MessageTemplate

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Component",
    "ComponentGroup",
    "ComponentStatusChange",
    "Consent",
    "Contact",
    "Customer",
    "Delivery",
    "DeliveryProblem",
    "DeliveryProblemCustomer",
    "DeliveryProblemUpdate",
    "FollowUp",
    "IdempotencyRecord",
    "InboxMessage",
    "Incident",
    "IncidentComponent",
    "IncidentUpdate",
    "MessageTemplate",
    "Notification",
    "OutboxMessage",
    "Promise",
    "ProviderEvent",
    "Rating",
    "RatingPrompt",
    "Signup",
    "Subscription",
    "Suppression",
]
