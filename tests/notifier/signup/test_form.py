"""The sign-up form: numbers, addresses, choices and quiet hours, parsed or refused."""

from __future__ import annotations

import pytest

from notifier import signup


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("+81 90-1234-5678", "+819012345678"), ("+1 (415) 555-0100", "+14155550100")],
)
def test_a_mobile_number_is_normalised_to_e164(typed: str, expected: str) -> None:
    assert signup.parse_mobile(typed, ["JP", "US"]) == expected


@pytest.mark.parametrize(
    "typed", ["090-1234-5678", "+81 3 1234 5678", "+44 7400 123456", "+1 416 555 0100"]
)
def test_national_form_landlines_and_other_countries_are_refused(typed: str) -> None:
    with pytest.raises(signup.Invalid) as refused:
        signup.parse_mobile(typed, ["JP", "US"])

    assert list(refused.value.errors) == ["phone"]


def test_an_email_address_is_kept_in_one_spelling() -> None:
    assert signup.parse_email(" Sam.Lee@Example.COM ") == "sam.lee@example.com"
    with pytest.raises(signup.Invalid):
        signup.parse_email("sam@")


def test_components_ticked_under_everything_are_a_question_not_a_guess() -> None:
    form = {"scope": "page", "locale": "en", "time_zone": "UTC"}
    assert signup.parse_choice(form, ["api"], []).page
    with pytest.raises(signup.Invalid) as refused:
        signup.parse_choice(form, ["api", "web"], ["api"])
    assert list(refused.value.errors) == ["components"]
    only = signup.parse_choice({**form, "scope": "components"}, ["api", "web"], ["api"])
    assert (only.page, only.components) == (False, ("api",))


def test_quiet_hours_are_both_or_neither() -> None:
    assert signup.parse_quiet_hours({}) is None
    hours = signup.parse_quiet_hours({"quiet_start": "22:00", "quiet_end": "07:00"})
    assert hours is not None
    assert [h.isoformat() for h in hours] == ["22:00:00", "07:00:00"]
    for bad in ({"quiet_start": "22:00"}, {"quiet_start": "09:00", "quiet_end": "09:00"}):
        with pytest.raises(signup.Invalid):
            signup.parse_quiet_hours(bad)


def test_an_error_names_its_field_and_keeps_its_parameters() -> None:
    with pytest.raises(signup.Invalid) as refused:
        signup.parse_mobile("+44 7400 123456", ["JP"])

    error = refused.value.errors["phone"]
    assert isinstance(error, signup.FormError)
    assert error.params == {"countries": "JP (+81)"}
