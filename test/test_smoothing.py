"""One-Euro smoothing: exact on constants, less jitter, little lag when moving, NaN and irregular steps."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.fusion.smoothing import JointSmoother, OneEuroFilter, OneEuroOptions


def test_constant_values_pass_unchanged() -> None:
    f = OneEuroFilter()
    values = np.arange(51.0).reshape(17, 3)
    for k in range(10):
        np.testing.assert_allclose(f(0.1 * k, values), values)


def test_jitter_shrinks_and_a_moving_value_follows() -> None:
    rng = np.random.default_rng(0)
    stamps = np.cumsum(rng.uniform(0.05, 0.15, 300))  # irregular steps
    noise = rng.normal(0.0, 0.02, (300, 17, 3))
    still = OneEuroFilter()
    out = np.stack([still(t, n) for t, n in zip(stamps, noise, strict=True)])
    assert out[50:].std() < 0.6 * noise[50:].std()  # alpha ~0.43 at 10 Hz: std x sqrt(a / (2 - a)) ~ 0.52
    moving = OneEuroFilter()
    track = np.stack([moving(t, np.full(3, 1.0 * t)) for t in stamps])
    assert np.abs(track[-1] - stamps[-1]).max() < 0.15  # a 1 m/s walk lags by less than 0.15 m


def test_missing_values_stay_missing_and_do_not_disturb_the_state() -> None:
    f = OneEuroFilter(OneEuroOptions(min_cutoff_hz=0.5))
    f(0.0, np.array([1.0, 2.0]))
    out = f(0.1, np.array([np.nan, 2.0]))
    assert np.isnan(out[0]) and out[1] == 2.0
    out = f(0.2, np.array([1.0, 2.0]))
    assert out[0] == pytest.approx(1.0)
    assert f(0.2, np.array([5.0, 2.0]))[0] == pytest.approx(1.0)  # same stamp: no step


def test_one_filter_per_track_and_pruning() -> None:
    smoother = JointSmoother(max_age_s=1.0)
    a, b = np.zeros((17, 3)), np.ones((17, 3))
    smoother(0.0, 1, a)
    smoother(0.0, 2, b)
    np.testing.assert_allclose(smoother(0.1, 2, b), b)
    np.testing.assert_allclose(smoother(0.1, -1, a + 5), a + 5)  # untracked: as is
    assert len(smoother) == 2
    smoother.prune(1.05)
    assert len(smoother) == 1


def test_invalid_options() -> None:
    with pytest.raises(ValueError, match="cutoff"):
        OneEuroOptions(min_cutoff_hz=0.0)
