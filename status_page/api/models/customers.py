"""Customers with their consent and what they follow, as the ops API answers them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from notifier.statuses import ChannelName, ConsentMethod, Locale
from notifier.subscribers import CustomerProfile
from status_page.api.models.common import Output


class ConsentOut(Output):
    """Consent for one channel: how it was given, when, and whether it was withdrawn."""

    channel: ChannelName
    method: ConsentMethod = Field(description="double_opt_in, imported or in_app_identity.")
    legal_basis: str
    confirmed_at: datetime | None
    revoked_at: datetime | None


class FollowsOut(Output):
    """What page notifications a customer gets: the whole page, or these components' ids."""

    page: bool
    components: list[str]


class CustomerOut(Output):
    """A customer, with consent per channel and what they follow. Times are RFC 3339, in UTC."""

    id: str
    external_id: str
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    inapp_user_id: str | None
    locale: Locale
    time_zone: str
    channel_order: list[ChannelName] | None = Field(
        description="Channels tried one after another; null: every consented channel at once."
    )
    only_unresolved: bool
    consent: list[ConsentOut]
    follows: FollowsOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, profile: CustomerProfile) -> CustomerOut:
        """From a ``CustomerProfile`` (``notifier.subscribers.profiles``)."""
        customer = profile.customer
        return cls(
            id=customer.id,
            external_id=customer.external_id or "",
            given_name=customer.given_name,
            family_name=customer.family_name,
            email=customer.email,
            phone=customer.phone,
            inapp_user_id=customer.inapp_user_id,
            locale=customer.locale,
            time_zone=customer.time_zone,
            channel_order=customer.channel_order,
            only_unresolved=customer.only_unresolved,
            consent=[ConsentOut.model_validate(c) for c in profile.consents],
            follows=FollowsOut(page=profile.follows_page, components=list(profile.follows)),
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )
