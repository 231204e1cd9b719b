"""Robust statistics over masked (NaN) entries, warning-free: vectorised, and as a compiled loop."""

from __future__ import annotations

import numpy as np

from orpose_ros.compiled import compiled


def nan_median(values: np.ndarray, min_count: int) -> np.ndarray:
    """(...) median over the last axis of (..., K) values ignoring NaN; NaN with fewer than ``min_count`` values.

    (Sort-based: no warnings for empty slices, unlike `np.nanmedian`.)
    """
    shape = values.shape[:-1]
    ordered = np.sort(values.reshape(-1, values.shape[-1]), axis=-1)  # NaN last
    count = (~np.isnan(ordered)).sum(axis=-1)
    rows = np.arange(len(ordered))
    middle = 0.5 * (ordered[rows, np.maximum((count - 1) // 2, 0)] + ordered[rows, count // 2 - (count == 0)])
    return np.where(count >= max(min_count, 1), middle, np.nan).reshape(shape)


def median_in_place(values: np.ndarray, count: int) -> float:
    """Median of the first ``count`` entries of (K,) ``values`` (no NaN among them), which it sorts in place
    (insertion sort: K is a handful of joints); NaN when count is 0. The same value as `nan_median`."""
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
