"""One-Euro smoothing: exact on constants, less jitter, little lag when moving, NaN and irregular steps."""

from __future__ import annotations

import warnings

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
    assert np.isnan(out[0])
    assert out[1] == 2.0
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


def one_euro_reference(stamps: np.ndarray, values: np.ndarray, options: OneEuroOptions) -> np.ndarray:
    """The One-Euro filter of Casiez et al. written out for one scalar, sample by sample."""

    def alpha(cutoff_hz: float, dt_s: float) -> float:
        tau = 1.0 / (2.0 * np.pi * cutoff_hz)
        return 1.0 / (1.0 + tau / dt_s)

    out = [float(values[0])]
    speed = 0.0
    for k in range(1, len(values)):
        dt = stamps[k] - stamps[k - 1]
        raw_speed = (values[k] - out[-1]) / dt
        a_d = alpha(options.derivative_cutoff_hz, dt)
        speed = a_d * raw_speed + (1.0 - a_d) * speed
        a = alpha(options.min_cutoff_hz + options.beta * abs(speed), dt)
        out.append(a * values[k] + (1.0 - a) * out[-1])
    return np.array(out)


@pytest.mark.parametrize(
    "options",
    [OneEuroOptions(), OneEuroOptions(min_cutoff_hz=0.3, beta=4.0, derivative_cutoff_hz=2.5)],
)
def test_every_output_follows_the_one_euro_formula(options: OneEuroOptions) -> None:
    rng = np.random.default_rng(3)
    stamps = np.cumsum(rng.uniform(0.03, 0.2, 80))
    # a walk that starts, goes one way then back, with jitter: speed, its sign and its filter all matter
    values = np.stack([np.sin(0.8 * stamps) + rng.normal(0.0, 0.02, 80), 2.0 - 0.5 * stamps], axis=1)
    f = OneEuroFilter(options)
    out = np.stack([f(t, v) for t, v in zip(stamps, values, strict=True)])
    for column in range(2):
        np.testing.assert_allclose(out[:, column], one_euro_reference(stamps, values[:, column], options), rtol=1e-12)


def test_a_step_response_against_the_low_pass_formula() -> None:
    # beta = 0: a plain first-order low pass with tau = 1 / (2 pi f_c); one step of dt after a unit step gives
    # dt / (dt + tau) (0.386 for 1 Hz at 10 Hz), then (1 - a)^k of the rest after k steps
    f = OneEuroFilter(OneEuroOptions(min_cutoff_hz=1.0, beta=0.0))
    f(0.0, np.zeros(1))
    tau = 1.0 / (2.0 * np.pi)
    a = 0.1 / (0.1 + tau)
    for k in range(1, 6):
        assert f(0.1 * k, np.ones(1))[0] == pytest.approx(1.0 - (1.0 - a) ** k, rel=1e-12)
    assert a == pytest.approx(0.3858, abs=1e-4)


def test_a_missing_value_keeps_the_speed_estimate_of_its_joint() -> None:
    options = OneEuroOptions(min_cutoff_hz=0.5, beta=2.0)
    stamps = np.array([0.0, 0.1, 0.2, 0.4, 0.5])
    values = np.array([0.0, 0.1, 0.25, 0.45, 0.5])
    f = OneEuroFilter(options)
    out = [f(t, np.array([v])) for t, v in zip(stamps[:3], values[:3], strict=True)]
    assert np.isnan(f(0.3, np.array([np.nan]))[0])  # state untouched: as if 0.3 s never happened
    out += [f(t, np.array([v])) for t, v in zip(stamps[3:], values[3:], strict=True)]
    np.testing.assert_allclose(np.concatenate(out), one_euro_reference(stamps, values, options), rtol=1e-12)


def test_missing_values_and_first_samples_raise_no_floating_point_warning() -> None:
    f = OneEuroFilter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f(0.0, np.array([np.nan, 1.0, np.inf]))
        f(0.1, np.array([2.0, np.nan, 1.0]))
        out = f(0.1, np.array([3.0, 1.0, 1.0]))
    np.testing.assert_array_equal(out, [2.0, 1.0, 1.0])  # first samples pass as they are; same stamp: no step


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"min_cutoff_hz": 0.0}, False),
        ({"min_cutoff_hz": 1e-9}, True),
        ({"derivative_cutoff_hz": 0.0}, False),
        ({"derivative_cutoff_hz": 1e-9}, True),
        ({"beta": -1e-9}, False),
        ({"beta": 0.0}, True),
    ],
)
def test_option_bounds_on_both_sides(kwargs: dict, valid: bool) -> None:
    if valid:
        assert OneEuroOptions(**kwargs).beta == kwargs.get("beta", 1.0)
    else:
        with pytest.raises(ValueError, match=r"^cutoff frequencies must be positive and beta non-negative$"):
            OneEuroOptions(**kwargs)


def test_the_smoother_filters_track_zero_with_its_options_and_passes_untracked_joints_as_floats() -> None:
    options = OneEuroOptions(min_cutoff_hz=3.0, beta=0.0)
    smoother = JointSmoother(options)
    smoother(0.0, 0, np.zeros((17, 3)))
    a = 0.1 / (0.1 + 1.0 / (2.0 * np.pi * 3.0))  # the low pass of track 0's own filter
    np.testing.assert_allclose(smoother(0.1, 0, np.ones((17, 3))), np.full((17, 3), a), rtol=1e-12)
    untracked = smoother(0.1, -1, np.ones((17, 3), dtype=np.int64))
    assert untracked.dtype == np.float64
    np.testing.assert_array_equal(untracked, np.ones((17, 3)))


def test_a_filter_is_kept_for_exactly_max_age_after_its_last_frame() -> None:
    smoother = JointSmoother()  # max_age_s 1 s by default
    smoother(0.5, 7, np.zeros(3))
    smoother.prune(1.5)
    assert len(smoother) == 1
    smoother.prune(1.5 + 1e-9)
    assert len(smoother) == 0
