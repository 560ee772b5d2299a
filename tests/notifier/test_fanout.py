from __future__ import annotations

from config import DeliverySettings
from notifier.fanout import batch_up


def test_batches_hold_one_channel_and_language_up_to_the_channels_size_texts_first() -> None:
    settings = DeliverySettings(email_batch_size=2, sms_batch_size=3)
    rows = [(i, "email", "en") for i in range(1, 6)]
    rows += [(i, "email", "ja") for i in range(6, 8)]
    rows += [(i, "sms", "en") for i in range(8, 12)]
    rows += [(12, "inapp", "en")]

    batches = [(b.channel, b.delivery_ids) for b in batch_up(rows, settings)]

    assert batches == [
        ("sms", [8, 9, 10]),
        ("sms", [11]),
        ("inapp", [12]),
        ("email", [1, 2]),
        ("email", [3, 4]),
        ("email", [5]),
        ("email", [6, 7]),
    ]
