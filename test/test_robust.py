"""The compiled median of the first entries of a scratch array."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.fusion.robust import median_in_place


@pytest.mark.parametrize(
    ("values", "count", "median"),
    [
        ([3.0, 1.0, 2.0], 3, 2.0),  # odd: the middle one
        ([4.0, 1.0, 3.0, 2.0], 4, 2.5),  # even: the mean of the two middle ones
        ([5.0, 9.0], 1, 5.0),
        ([2.0, 1.0, 100.0, -100.0], 2, 1.5),  # entries past count take no part
        ([np.inf, 1.0, 2.0], 3, 2.0),
        ([np.inf, np.inf, 1.0], 3, np.inf),
        ([1.0, 1.0, 1.0, 7.0, 7.0], 5, 1.0),  # repeated values
    ],
)
def test_median_of_the_first_count_entries(values: list[float], count: int, median: float) -> None:
    assert median_in_place(np.array(values), count) == median


def test_no_entries_have_no_median() -> None:
    assert np.isnan(median_in_place(np.array([1.0, 2.0]), 0))


def test_the_counted_entries_are_sorted_in_place_and_the_rest_untouched() -> None:
    rng = np.random.default_rng(0)
    for count in range(1, 18):
        values = rng.normal(size=17)
        before = values.copy()
        median = median_in_place(values, count)
        np.testing.assert_array_equal(values[:count], np.sort(before[:count]))
        np.testing.assert_array_equal(values[count:], before[count:])
        assert median == np.median(before[:count])
