"""Robust statistics as compiled loops."""

from __future__ import annotations

import numpy as np

from orpose_ros.compiled import compiled


def median_in_place(values: np.ndarray, count: int) -> float:
    """Median of the first ``count`` entries of (K,) ``values`` (no NaN among them), which it sorts in place
    (insertion sort: K is a handful of joints); NaN when count is 0."""
    for i in range(1, count):
        value, j = values[i], i - 1
        while j >= 0 and values[j] > value:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = value
    if count == 0:
        return np.nan
    return 0.5 * (values[(count - 1) // 2] + values[count // 2])


median_in_place = compiled(median_in_place)
