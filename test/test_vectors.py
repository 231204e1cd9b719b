"""geometry.vectors: dot products and norms over a short last axis equal numpy's (the fusion relies on it)."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.geometry import vectors


@pytest.mark.parametrize("k", [2, 3])
def test_equal_to_numpy_with_broadcasting_nan_and_inf(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.normal(size=(7, 5, k)) * 10.0 ** rng.integers(-3, 4, size=(7, 5, 1))
    b = rng.normal(size=(5, k))
    a[0, 0, 0], a[1, 1, -1], b[2, 0] = np.nan, np.inf, -np.inf
    np.testing.assert_array_equal(vectors.dot(a, b), np.sum(a * b, axis=-1))
    np.testing.assert_array_equal(vectors.norm(a), np.linalg.norm(a, axis=-1))
    assert vectors.norm(np.array([3.0, 4.0])) == 5.0
    assert vectors.norm(np.zeros((0, 3))).shape == (0,)
