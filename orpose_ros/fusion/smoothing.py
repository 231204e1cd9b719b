"""Temporal smoothing of joints: the One-Euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised.

Each value is low-pass filtered with a cutoff that rises with its speed: still joints lose their jitter,
moving joints keep little lag. Time steps come from stamps [s] and may be irregular; a value that is NaN
(a joint not placed) is output as NaN and does not disturb its state. `JointSmoother` keeps one filter
per track id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroOptions:
    """One-Euro filter parameters, for values in metres.

    Attributes:
        min_cutoff_hz: cutoff frequency of a still value [Hz] (lower: smoother, more lag when slow).
        beta: cutoff increase per unit of speed [Hz per m/s] (higher: less lag when fast).
        derivative_cutoff_hz: cutoff of the speed estimate [Hz].
    """

    min_cutoff_hz: float = 1.0
    beta: float = 1.0
    derivative_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if not (self.min_cutoff_hz > 0 and self.derivative_cutoff_hz > 0 and self.beta >= 0):
            raise ValueError("cutoff frequencies must be positive and beta non-negative")


def _alpha(cutoff_hz: np.ndarray | float, dt_s: np.ndarray) -> np.ndarray:
    """Smoothing factor of a first-order low-pass filter for time steps ``dt_s``."""
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One-Euro filter over an array of values of fixed shape, each with its own state and time."""

    def __init__(self, options: OneEuroOptions | None = None) -> None:
        self.options = options or OneEuroOptions()
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._stamp: np.ndarray | None = None

    def __call__(self, stamp_s: float, values: np.ndarray) -> np.ndarray:
        """Filtered ``values`` (any shape, fixed over calls) at ``stamp_s`` [s]; NaN stays NaN."""
        values = np.asarray(values, dtype=np.float64)
        if self._value is None or self._value.shape != values.shape:
            self._value = np.full(values.shape, np.nan)
            self._speed = np.zeros(values.shape)
            self._stamp = np.full(values.shape, np.nan)
        seen = np.isfinite(values)
        started = seen & np.isfinite(self._value)
        with np.errstate(invalid="ignore", divide="ignore"):
            dt = stamp_s - self._stamp
            step = started & (dt > 0)
            dt = np.where(step, dt, 1.0)
            speed = (values - self._value) / dt
            a_d = _alpha(self.options.derivative_cutoff_hz, dt)
            speed = np.where(step, a_d * speed + (1.0 - a_d) * self._speed, self._speed)
            cutoff = self.options.min_cutoff_hz + self.options.beta * np.abs(speed)
            a = _alpha(cutoff, dt)
            filtered = np.where(step, a * values + (1.0 - a) * self._value, np.where(started, self._value, values))
        self._value = np.where(seen, filtered, self._value)
        self._speed = np.where(seen, speed, self._speed)
        self._stamp = np.where(seen, stamp_s, self._stamp)
        return np.where(seen, filtered, np.nan)


class JointSmoother:
    """One `OneEuroFilter` per track id; filters of ids unseen for ``max_age_s`` are dropped."""

    def __init__(self, options: OneEuroOptions | None = None, max_age_s: float = 1.0) -> None:
        self.options = options or OneEuroOptions()
        self.max_age_s = max_age_s
        self._filters: dict[int, tuple[OneEuroFilter, float]] = {}

    def __call__(self, stamp_s: float, track_id: int, joints: np.ndarray) -> np.ndarray:
        """Smoothed (17, 3) (or any fixed shape) joints of track ``track_id`` at ``stamp_s``; untracked (-1): as is."""
        if track_id < 0:
            return np.asarray(joints, dtype=np.float64)
        one_euro = self._filters.get(track_id, (OneEuroFilter(self.options), stamp_s))[0]
        self._filters[track_id] = (one_euro, stamp_s)
        return one_euro(stamp_s, joints)

    def prune(self, stamp_s: float) -> None:
        """Drop the filters of tracks not seen for more than ``max_age_s`` before ``stamp_s``."""
        self._filters = {k: v for k, v in self._filters.items() if stamp_s - v[1] <= self.max_age_s}

    def __len__(self) -> int:
        return len(self._filters)
