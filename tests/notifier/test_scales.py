"""The rating scales: what each takes and which answers are unhappy."""

from __future__ import annotations

import pytest

from notifier.scales import Scale


@pytest.mark.parametrize(
    ("scale", "first", "last"), [(Scale.csat, 1, 5), (Scale.nps, 0, 10), (Scale.ces, 1, 7)]
)
def test_each_scale_takes_its_whole_range_and_nothing_else(
    scale: Scale, first: int, last: int
) -> None:
    assert [scale.check(score) for score in scale.scores] == list(range(first, last + 1))
    for outside in (first - 1, last + 1):
        with pytest.raises(ValueError, match=f"{first} to {last}"):
            scale.check(outside)


@pytest.mark.parametrize(
    ("scale", "unhappy", "fine"),
    [
        (Scale.csat, [1, 2], [3, 4, 5]),
        (Scale.nps, list(range(7)), [7, 8, 9, 10]),
        (Scale.ces, [1, 2, 3], [4, 5, 6, 7]),
    ],
)
def test_low_scores_are_csat_2_nps_6_ces_3_and_below(
    scale: Scale, unhappy: list[int], fine: list[int]
) -> None:
    assert [s for s in scale.scores if scale.is_low(s)] == unhappy
    assert [s for s in scale.scores if not scale.is_low(s)] == fine
