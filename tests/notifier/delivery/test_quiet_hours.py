"""The quiet window's arithmetic: within a day, across midnight, on DST days, none."""

from __future__ import annotations

from datetime import UTC, datetime, time

from notifier.delivery.quiet_hours import ends_at, window

NIGHT = (time(22, 0), time(7, 0))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_window_crossing_midnight_ends_the_next_morning() -> None:
    assert ends_at(at("2026-12-01T23:30+09:00"), NIGHT, "Asia/Tokyo") == at(
        "2026-12-02T07:00+09:00"
    )


def test_after_midnight_it_ends_the_same_morning() -> None:
    assert ends_at(at("2026-12-02T03:00+09:00"), NIGHT, "Asia/Tokyo") == at(
        "2026-12-02T07:00+09:00"
    )


def test_the_start_is_inside_and_the_end_is_not() -> None:
    assert ends_at(at("2026-12-01T22:00+09:00"), NIGHT, "Asia/Tokyo") is not None
    assert ends_at(at("2026-12-02T07:00+09:00"), NIGHT, "Asia/Tokyo") is None
    assert ends_at(at("2026-12-02T12:00+09:00"), NIGHT, "Asia/Tokyo") is None


def test_a_window_within_one_day() -> None:
    early = (time(1, 0), time(6, 0))
    assert ends_at(at("2026-12-01T02:00+00:00"), early, "UTC") == at("2026-12-01T06:00+00:00")
    assert ends_at(at("2026-12-01T23:00+00:00"), early, "UTC") is None


def test_it_is_read_in_the_recipients_zone() -> None:
    # 23:30 in Tokyo is 09:30 in New York: awake there.
    assert ends_at(at("2026-12-01T23:30+09:00"), NIGHT, "America/New_York") is None


def test_start_equal_to_end_is_no_window() -> None:
    assert ends_at(at("2026-12-01T23:30+09:00"), (time(7), time(7)), "Asia/Tokyo") is None


def test_it_keeps_local_hours_across_a_dst_change() -> None:
    # New York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT): 07:00 is EDT.
    assert ends_at(at("2026-03-07T23:00-05:00"), NIGHT, "America/New_York") == at(
        "2026-03-08T07:00-04:00"
    )
    # and falls back on 2026-11-01: 07:00 is EST.
    assert ends_at(at("2026-10-31T23:00-04:00"), NIGHT, "America/New_York") == at(
        "2026-11-01T07:00-05:00"
    )


def test_an_end_inside_the_spring_forward_gap_ends_after_it() -> None:
    ends = ends_at(at("2026-03-08T01:00-05:00"), (time(0), time(2, 30)), "America/New_York")
    assert ends == at("2026-03-08T03:30-04:00")


def test_an_unknown_zone_counts_as_utc() -> None:
    assert ends_at(at("2026-12-01T23:30+00:00"), NIGHT, "Mars/Olympus") == at(
        "2026-12-02T07:00+00:00"
    )


def test_the_customers_own_window_overrides_the_pages() -> None:
    page = (time(21), time(8))
    assert window((time(23), time(6)), page) == (time(23), time(6))
    assert window((None, None), page) == page
    assert window((None, None), (None, None)) is None
    # Their own start == end: no quiet hours for them, whatever the page says.
    assert window((time(0), time(0)), page) == (time(0), time(0))
