"""Rates and latency statistics for the nodes' diagnostics (no ROS types).

Rates are measured over the last events, not over a fixed window, so that they mean something at
0.05 Hz (one event every 20 s) as well as at 30 Hz.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class RateMeter:
    """Events per second, from the times of the last ``events`` events within ``max_age_s``.

    With n >= 2 recent events the rate is (n - 1) / (span between the first and the last); once no
    event came for longer than twice the mean interval, it is at most 1 / silence, so a stopped
    stream decays to 0 instead of showing its last rate forever.
    """

    def __init__(self, events: int = 50, max_age_s: float = 120.0) -> None:
        self._stamps: deque[float] = deque(maxlen=events)
        self._max_age_s = max_age_s
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            self._stamps.append(time.monotonic() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        """Events per second [Hz]; 0 without two events in the last ``max_age_s``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._stamps and self._stamps[0] < now - self._max_age_s:
                self._stamps.popleft()
            stamps = list(self._stamps)
        if len(stamps) < 2:
            return 0.0
        span = stamps[-1] - stamps[0]
        if span <= 0.0:
            return 0.0
        intervals = len(stamps) - 1
        rate = intervals / span
        silence = now - stamps[-1]
        return min(rate, 1.0 / silence) if silence > 2.0 / rate else rate


class LatencyWindow:
    """The last ``size`` durations [s]; mean and percentiles in milliseconds."""

    def __init__(self, size: int = 200) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append(seconds)

    def summary_ms(self) -> dict[str, float]:
        """{'mean', 'p50', 'p95', 'max'} in ms; NaN when empty."""
        with self._lock:
            values = np.asarray(self._values, dtype=float) * 1000.0
        if values.size == 0:
            return {key: float("nan") for key in ("mean", "p50", "p95", "max")}
        return {
            "mean": float(values.mean()),
            "p50": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95)),
            "max": float(values.max()),
        }
