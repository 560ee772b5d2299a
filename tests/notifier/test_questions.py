"""The question and end-point labels of each scale, in both languages."""

from __future__ import annotations

import pytest

from notifier.questions import labels, question
from notifier.scales import Scale
from notifier.statuses import Locale


@pytest.mark.parametrize("scale", list(Scale))
@pytest.mark.parametrize("locale", list(Locale))
def test_every_scale_has_a_question_and_end_labels_in_every_locale(
    scale: Scale, locale: Locale
) -> None:
    assert question(scale, locale)
    ends = labels(scale, locale)
    assert list(ends) == [scale.scores[0], scale.scores[-1]]
    assert all(ends.values())


def test_the_csat_question_is_the_issues_wording() -> None:
    assert question("csat", "en") == "How satisfied were you with how we kept you informed?"
    assert question("ces", "en") == "It was easy to get the information I needed."
    assert labels("nps", "en") == {0: "Not at all likely", 10: "Extremely likely"}


def test_an_unknown_locale_reads_in_english() -> None:
    assert question("csat", "fr") == question("csat", "en")
    assert labels("ces", "de") == labels("ces", "en")


def test_an_unknown_scale_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="stars"):
        question("stars", "en")
