"""The enumerations of the records, spelled as Atlassian Statuspage spells them."""

from __future__ import annotations

from enum import StrEnum


class ComponentStatus(StrEnum):
    """A component's status, as Statuspage's v2 API spells it."""

    operational = "operational"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"
    under_maintenance = "under_maintenance"

    @property
    def severity(self) -> int:
        """How bad it is, 0 (operational) to 4 (major outage): the page shows the worst."""
        return _SEVERITY[self]


_SEVERITY = {
    ComponentStatus.operational: 0,
    ComponentStatus.under_maintenance: 1,
    ComponentStatus.degraded_performance: 2,
    ComponentStatus.partial_outage: 3,
    ComponentStatus.major_outage: 4,
}


def worst(statuses: list[ComponentStatus]) -> ComponentStatus:
    """The most severe of ``statuses``; operational when there are none."""
    return max(statuses, key=lambda s: s.severity, default=ComponentStatus.operational)


class IncidentStatus(StrEnum):
    """An incident's status, as Statuspage's v2 API spells it."""

    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"
    postmortem = "postmortem"

    @property
    def active(self) -> bool:
        """True until resolved (or in postmortem)."""
        return self not in (IncidentStatus.resolved, IncidentStatus.postmortem)


class MaintenanceStatus(StrEnum):
    """A scheduled maintenance's status (Statuspage's, plus ``cancelled``)."""

    scheduled = "scheduled"
    in_progress = "in_progress"
    verifying = "verifying"
    completed = "completed"
    cancelled = "cancelled"


class Impact(StrEnum):
    """An incident's impact, and the page indicator (Statuspage's ``none`` to ``critical``)."""

    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"


class IncidentKind(StrEnum):
    """An incident row is an incident or a scheduled maintenance."""

    incident = "incident"
    maintenance = "maintenance"


class ProblemKind(StrEnum):
    """What went wrong with a delivery problem's order or shipment."""

    delayed = "delayed"
    failed_attempt = "failed_attempt"
    lost = "lost"
    damaged = "damaged"
    cancelled = "cancelled"


class ProblemStatus(StrEnum):
    """A delivery problem's status: open, in progress, resolved."""

    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"


class Locale(StrEnum):
    """The languages messages and pages are written in."""

    en = "en"
    ja = "ja"


# --- Forewarn's own records -----------------------------------------------------------
# Each value is the string stored in the database and shown by the ops API, so a
# member added here (a new delivery status, say) needs no migration: the columns are
# plain strings with no CHECK constraint.


class ChannelName(StrEnum):
    """A way of reaching a customer; each has one address column on the customer
    (``notifier.tables.customers.ADDRESS``) and one provider (``delivery/channels``)."""

    email = "email"
    sms = "sms"
    inapp = "inapp"


class DeliveryStatus(StrEnum):
    """Where one delivery (notification, customer, channel) is.

    ``pending -> sending -> sent -> delivered | failed | bounced``, or ``suppressed``
    without a send (no consent, or the address is suppressed). ``pending``, ``held``
    and ``sending`` are unfinished: the sender and the sweeper look at those only (the
    partial index ``tables.deliveries.UNFINISHED``). ``parked``: a provider refused our
    credentials; it waits, unsent and unretried, until ops resume it
    (``notifier.delivery.parking``). ``held``: not sent yet on purpose, until
    ``next_attempt_at`` (the recipient's quiet hours, or the no-spam window after the
    last message about the subject: ``notifier.delivery.care``).
    ``folded``: never sent, because a newer message about the same subject said it
    (or the subject was resolved and the recipient asked only while unresolved); final.
    """

    pending = "pending"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    bounced = "bounced"
    suppressed = "suppressed"
    parked = "parked"
    held = "held"
    folded = "folded"

    @property
    def unfinished(self) -> bool:
        """True while a send may still be made (pending, held, or claimed and sending)."""
        return self in (DeliveryStatus.pending, DeliveryStatus.sending, DeliveryStatus.held)

    @property
    def reached_provider(self) -> bool:
        """True once a provider accepted it (sent or delivered)."""
        return self in (DeliveryStatus.sent, DeliveryStatus.delivered)


class NotificationStatus(StrEnum):
    """A notification's fan-out: ``pending -> fanning_out -> done`` (every delivery row
    exists)."""

    pending = "pending"
    fanning_out = "fanning_out"
    done = "done"


class SuppressionReason(StrEnum):
    """Why an address must not be sent to: a hard bounce, a spam report, an
    unsubscribe, an SMS STOP reply, a number the carrier calls invalid, or by hand."""

    bounce = "bounce"
    spam_report = "spam_report"
    unsubscribe = "unsubscribe"
    stop = "stop"
    invalid = "invalid"
    manual = "manual"


class SignupKind(StrEnum):
    """A sign-up row: ``confirm`` asks to confirm an address; ``already`` tells a
    confirmed subscriber they are (so the page answers the same whoever asks)."""

    confirm = "confirm"
    already = "already"


class ConsentMethod(StrEnum):
    """How consent for a channel was given: a confirmed sign-up on the page, imported
    by the business through the ops API, or the host application's signed-in user."""

    double_opt_in = "double_opt_in"
    imported = "imported"
    in_app_identity = "in_app_identity"


class TemplatePart(StrEnum):
    """A part of an event's message with a template of its own (``message_templates.part``).
    In-app messages have none: their title is the email subject, their body the SMS text."""

    email_subject = "email_subject"
    email_text = "email_text"
    email_html = "email_html"
    sms = "sms"
