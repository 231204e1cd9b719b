"""orpose-bench-tf-latency runs briefly and reports its figures (latency is measured, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]


def test_a_short_run_prints_and_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    done = subprocess.run([sys.executable, "-m", "orpose_ros.bench.tf_latency", "--moments", "12", "--warmup", "3",
                           "--rate-hz", "20", "--json", str(out), "--log-dir", str(tmp_path / "logs")],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr + (tmp_path / "logs" / "fusion.log").read_text()
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("orpose-bench-tf-latency:")]
    assert "3 cameras, 5 people" in line
    assert "median" in line
    assert "p95" in line
    result = json.loads(out.read_text())
    latency = result["latency_ms"]
    assert result["moments"] == 12
    assert latency["n"] + result["without_tf"] == 12
    assert latency["n"] >= 6  # five walkers: most moments place someone
    assert 0 < latency["min"] <= latency["p50"] <= latency["p95"] <= latency["max"]
    assert "ready: 3 camera(s)" in (tmp_path / "logs" / "fusion.log").read_text()


def test_bad_arguments_are_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "orpose_ros.bench.tf_latency", "--people", "9"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "expected --moments >= 1" in done.stderr.splitlines()[-1]
