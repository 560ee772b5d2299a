"""Forewarn's own status sets: each value is the string the database already holds."""

from __future__ import annotations

import importlib

from notifier.delivery import outcomes
from notifier.statuses import (
    ChannelName,
    ConsentMethod,
    DeliveryStatus,
    NotificationStatus,
    SignupKind,
    SuppressionReason,
)
from notifier.tables import deliveries


def test_the_values_are_the_strings_stored_before_the_enums() -> None:
    assert [s.value for s in DeliveryStatus] == [
        "pending",
        "sending",
        "sent",
        "delivered",
        "failed",
        "bounced",
        "suppressed",
        "parked",  # new with parking: a value no row held before
        "held",  # new with the care policies (quiet hours, no-spam windows)
        "folded",
    ]
    assert list(NotificationStatus) == ["pending", "fanning_out", "done"]
    assert list(ChannelName) == ["email", "sms", "inapp"]
    assert list(SuppressionReason) == [
        "bounce",
        "spam_report",
        "unsubscribe",
        "stop",
        "invalid",
        "manual",
    ]
    assert list(SignupKind) == ["confirm", "already"]
    assert list(ConsentMethod) == ["double_opt_in", "imported", "in_app_identity"]


def test_a_status_compares_and_formats_as_its_string() -> None:
    assert DeliveryStatus.sent == "sent"
    assert f"{DeliveryStatus.suppressed}: stop" == "suppressed: stop"
    assert DeliveryStatus("delivered") is DeliveryStatus.delivered


def test_only_pending_held_and_sending_are_unfinished() -> None:
    assert {s for s in DeliveryStatus if s.unfinished} == {"pending", "held", "sending"}
    assert {s for s in DeliveryStatus if s.reached_provider} == {"sent", "delivered"}


def test_the_partial_indexes_say_what_their_migration_says() -> None:
    made = importlib.import_module(
        "notifier.migrations.versions.0002_subscribers_notifications_and_deliveries"
    )
    # 0007 made the unfinished index again, with held rows in it.
    remade = importlib.import_module("notifier.migrations.versions.0010_care_policies")
    assert deliveries.UNFINISHED == remade.UNFINISHED
    assert deliveries.SMS_ONLY == made.SMS_ONLY


def test_the_sent_update_writes_the_sent_status() -> None:
    assert f"status = '{DeliveryStatus.sent}'" in outcomes._UPDATE_SENT.text
