"""A customer as the ops API answers it (``status_page/api/models/customers.py``): the
record, its consent per channel and what it follows, mapped field for field."""

from __future__ import annotations

from datetime import UTC, datetime

from notifier.subscribers import CustomerProfile
from notifier.tables import Consent, Customer
from status_page.api.models.customers import CustomerOut

CREATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
CHANGED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def customer(**fields: object) -> Customer:
    values: dict[str, object] = {
        "id": "c1",
        "external_id": "crm-42",
        "given_name": "愛子",
        "family_name": "田中",
        "email": "aiko@example.com",
        "phone": "+819012345678",
        "inapp_user_id": "u-42",
        "locale": "ja",
        "time_zone": "Asia/Tokyo",
        "channel_order": ["sms", "email"],
        "only_unresolved": True,
        "created_at": CREATED,
        "updated_at": CHANGED,
        **fields,
    }
    return Customer(**values)


def test_a_customer_with_consent_and_follows_maps_field_for_field() -> None:
    email = Consent(
        channel="email",
        method="double_opt_in",
        legal_basis="consent",
        confirmed_at=CREATED,
        revoked_at=CHANGED,
    )
    sms = Consent(channel="sms", method="imported", legal_basis="contract", confirmed_at=CREATED)
    profile = CustomerProfile(
        customer=customer(), consents=(email, sms), follows_page=True, follows=("k1", "k2")
    )

    out = CustomerOut.from_record(profile).model_dump(mode="json")

    assert out == {
        "id": "c1",
        "external_id": "crm-42",
        "given_name": "愛子",
        "family_name": "田中",
        "email": "aiko@example.com",
        "phone": "+819012345678",
        "inapp_user_id": "u-42",
        "locale": "ja",
        "time_zone": "Asia/Tokyo",
        "channel_order": ["sms", "email"],
        "only_unresolved": True,
        "consent": [
            {
                "channel": "email",
                "method": "double_opt_in",
                "legal_basis": "consent",
                "confirmed_at": "2026-01-05T09:30:00Z",
                "revoked_at": "2026-02-01T12:00:00Z",
            },
            {
                "channel": "sms",
                "method": "imported",
                "legal_basis": "contract",
                "confirmed_at": "2026-01-05T09:30:00Z",
                "revoked_at": None,
            },
        ],
        "follows": {"page": True, "components": ["k1", "k2"]},
        "created_at": "2026-01-05T09:30:00Z",
        "updated_at": "2026-02-01T12:00:00Z",
    }


def test_an_erased_customer_keeps_no_address_and_an_empty_external_id() -> None:
    erased = customer(
        external_id=None,
        given_name=None,
        family_name=None,
        email=None,
        phone=None,
        inapp_user_id=None,
    )
    profile = CustomerProfile(customer=erased, consents=(), follows_page=False, follows=())

    out = CustomerOut.from_record(profile)

    assert out.external_id == ""
    assert (out.given_name, out.family_name, out.email) == (None, None, None)
    assert (out.phone, out.inapp_user_id) == (None, None)
    assert out.consent == []
    assert (out.follows.page, out.follows.components) == (False, [])
