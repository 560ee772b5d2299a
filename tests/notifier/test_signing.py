"""One key per purpose: the values every earlier release derived, frozen."""

from __future__ import annotations

import hashlib
import hmac

from notifier import signing

SECRET = "legacy-secret-for-a-frozen-token"


def test_a_purpose_key_is_the_hmac_of_its_name_under_the_secret() -> None:
    expected = hmac.new(SECRET.encode(), b"forewarn:csrf", hashlib.sha256).digest()

    assert signing.purpose_key(SECRET, "csrf") == expected
    assert len(expected) == 32


def test_each_purpose_and_each_secret_has_its_own_key() -> None:
    keys = {
        signing.purpose_key(secret, purpose)
        for secret in (SECRET, "another-secret")
        for purpose in ("csrf", "sms-code", "signup-limits", "inapp", "unsubscribe")
    }

    assert len(keys) == 10


def test_a_mac_is_keyed_by_its_purpose() -> None:
    key = signing.purpose_key(SECRET, "csrf")

    assert signing.mac(SECRET, "csrf", "cookie") == hmac.new(key, b"cookie", "sha256").digest()
    assert signing.mac(SECRET, "csrf", "cookie") != signing.mac(SECRET, "sms-code", "cookie")


def test_the_inapp_secret_and_hash_are_what_host_applications_already_hold() -> None:
    # Computed by the code before signing.py; a host application keeps these.
    assert signing.inapp_secret(SECRET) == (
        "07c2dc35141f4f92823b08d8a5c4d804f45f5e3c02ce223238808ccbbf9faf1c"
    )
    assert signing.inapp_hash(SECRET, "user-1") == (
        "0d2cc20eff697ea33fbbe0c9c72589aa80ed9422955b06a8456b8b3bec9e12d4"
    )
