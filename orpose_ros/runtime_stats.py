"""Rolling rates and latency statistics for the node's diagnostics (no ROS types)."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class RateMeter:
    """Events per second over a sliding time window."""

    def __init__(self, window_s: float = 10.0) -> None:
        self._window_s = window_s
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            self._stamps.append(time.monotonic() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._stamps and self._stamps[0] < now - self._window_s:
                self._stamps.popleft()
            return len(self._stamps) / self._window_s


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
