"""Rates that mean something at 0.05 Hz and at 30 Hz, and latency summaries (diagnostics)."""

from __future__ import annotations

import math

import pytest

from orpose_ros.ros.rate_stats import LatencyWindow, RateMeter


def _meter(period_s: float, count: int) -> RateMeter:
    meter = RateMeter()
    for i in range(count):
        meter.tick(now=100.0 + i * period_s)
    return meter


def test_thirty_hertz_reads_thirty_hertz() -> None:
    meter = _meter(1 / 30, 300)
    last = 100.0 + 299 / 30
    assert meter.rate(now=last + 0.01) == pytest.approx(30.0, rel=1e-6)


def test_a_twenty_second_period_reads_the_same_between_events() -> None:
    """The old 10 s window alternated between 0.0 and 0.1 Hz for a batch every 20 s."""
    meter = _meter(20.0, 4)
    last = 100.0 + 60.0
    readings = [meter.rate(now=last + dt) for dt in (0.5, 5.0, 10.0, 19.5)]
    assert readings == pytest.approx([0.05] * 4, rel=1e-6)


def test_a_stopped_stream_decays_to_zero() -> None:
    meter = _meter(1 / 30, 60)
    last = 100.0 + 59 / 30
    assert meter.rate(now=last + 0.05) == pytest.approx(30.0, rel=1e-6)
    assert meter.rate(now=last + 1.0) < 3.0  # silence for 30 periods counts
    assert meter.rate(now=last + 1000.0) == 0.0  # events older than max_age are forgotten
    assert RateMeter().rate() == 0.0
    assert _meter(1.0, 1).rate(now=100.5) == 0.0


def test_latency_window_summary_in_milliseconds() -> None:
    window = LatencyWindow(size=3)
    assert all(math.isnan(v) for v in window.summary_ms().values())
    for seconds in (0.5, 0.010, 0.020, 0.030):  # the oldest falls out of the window
        window.add(seconds)
    summary = window.summary_ms()
    assert summary["mean"] == pytest.approx(20.0)
    assert summary["max"] == pytest.approx(30.0)
    assert summary["p50"] == pytest.approx(20.0)
