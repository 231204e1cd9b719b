"""orpose-bench, run as users run it (a console script), in its tiniest modes (CPU, no timing asserts).

The model bench run here is a correctness check of `OrPosePredictor` against detectron2's
`DefaultPredictor` (the published pipeline) on real frames with the same random weights: it fails when
any box, score or keypoint differs beyond float tolerance. The ROS bench run starts real processes.
Nothing here imports the benchmark: it is a tool, not a library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def _bench(tmp_path: Path, env: dict[str, str], *args: str | Path, timeout: float) -> tuple[dict, str]:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "orpose_ros.bench.cli", "--random-weights", "0", "--device", "cpu",
               "--out", str(out), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "bench.md").read_text() in result.stdout
    return json.loads((out / "bench.json").read_text()), result.stdout


def test_model_bench_matches_the_published_pipeline(tmp_path: Path, reference_dir: Path, stats_path: Path,
                                                     ros_env: dict[str, str]) -> None:
    bench, table = _bench(tmp_path, ros_env, "--skip-ros", "--frames", reference_dir / "mvor_seq1_x12",
                          "--stats", stats_path, "--model-frames", "2", "--warmup", "0", "--cameras", "1,3",
                          "--gpu-preprocess", "on", timeout=240)
    model = bench["model"]
    assert bench["ros"] is None
    assert model["device"] == "cpu"
    assert model["frames"] == 2
    assert model["frame_size"] == [640, 480]
    assert model["checkpoint"] == "random detecting weights, seed 0"
    names = [s["name"] for s in model["setups"]]
    assert names == ["published", "orpose_1cam_fp32", "orpose_3cam_fp32", "orpose_1cam_fp32+torch-preprocess",
                     "orpose_3cam_fp32+torch-preprocess"]
    for setup in model["setups"]:
        assert setup["frames_per_s"] > 0
        assert len(setup["latencies_ms"]) == setup["calls"] > 0
        assert all(setup["latency_ms"][k] > 0 for k in ("p50", "p95", "p99"))
    assert model["setups"][2]["frames"] == 3  # one call of 3 cameras
    for name in names[1:3]:
        agreement = model["agreement"][name]
        assert agreement["same_weights"]
        assert agreement["exact_check"]
        assert agreement["persons_reference"] > 0, "random weights must detect people for the check to mean anything"
        assert agreement["unmatched"] == 0, agreement
        assert agreement["within_tolerance"], agreement
    for name in names[3:]:  # the CUDA fast path's preprocessing, run on the CPU: a deviation, not a verdict
        agreement = model["agreement"][name]
        assert not agreement["exact_check"]
        assert "within_tolerance" not in agreement
        assert agreement["same_weights"]
        assert all(np.isfinite(v) for v in agreement["max_abs"].values())
    assert "| orpose_3cam_fp32 |" in table
    assert "equal (within fp32 tolerance)" in table


def test_ros_bench_measures_poses_end_to_end(tmp_path: Path, reference_dir: Path, stats_path: Path,
                                             ros_env: dict[str, str]) -> None:
    bench, table = _bench(tmp_path, ros_env, "--skip-model", "--frames", reference_dir / "mvor_seq1_x12",
                          "--stats", stats_path, "--cameras", "1", "--rate", "0.5", "--duration", "10",
                          "--dds", "shipped", "--transport-rate", "0", timeout=240)
    ros = bench["ros"]
    assert bench["model"] is None
    assert len(ros["setups"]) == 1
    setup = ros["setups"][0]
    assert setup["dds"] == "shipped profile"
    assert setup["published"] == 5
    assert setup["poses_received"] > 0
    assert setup["node_received"] > 0
    assert all(latency > 0 for latency in setup["latencies_ms"])
    assert setup["latency_ms"]["p50"] > 0
    assert setup["poses_per_s_total"] > 0
    assert setup["node_inference_ms_mean"] > 0
    assert ros["overhead"]["setup"] == setup["name"]
    assert "node_overhead_ms" in setup
    assert setup["node_input_hz_peak"][0] > 0
    assert "| 1cam_0.5Hz_shipped | shipped profile | 1 x 0.5 | 5 |" in table
    assert list((tmp_path / "out" / "ros_runs" / setup["name"] / "ros_log").iterdir())  # ROS_LOG_DIR was honoured


def test_backend_bench_round_robin_checks_outputs_and_reports_medians() -> None:
    """The round-robin of `orpose-bench --backends` on stand-in setups (the real runtimes are tested in
    test_exported_backend.py): every setup sees every frame, medians and the output check are right."""
    from orpose_ros.backends.comparison import FrameArrays
    from orpose_ros.bench.backend_bench import BackendBenchOptions, _round_robin
    from orpose_ros.bench.report import backend_table

    def person(frame: np.ndarray, shift: float) -> FrameArrays:
        k = float(frame[0, 0, 0])
        keypoints = np.full((1, 17, 3), k + shift, np.float32)
        keypoints[..., 2] = 0.5  # keypoint scores: equal
        return FrameArrays(np.array([[k, k, k + 50, k + 80]], np.float32), np.array([0.9], np.float32), keypoints,
                           np.zeros((1, 17, 3), np.float32))

    seen: dict[str, list[int]] = {"published": [], "same": [], "off": []}

    def setup(name: str, shift: float):
        def predict(batch: list[np.ndarray]) -> list[FrameArrays]:
            seen[name].extend(int(f[0, 0, 0]) for f in batch)
            return [person(f, shift) for f in batch]
        return predict

    frames = [np.full((4, 4, 3), 10 * i, np.uint8) for i in range(3)]
    setups = {"published_1cam": (1, "fp32", setup("published", 0.0)), "same_1cam": (1, "fp32", setup("same", 0.001)),
              "off_1cam": (1, "fp32", setup("off", 0.5)), "low_1cam": (1, "bf16", setup("off", 0.5))}
    section = _round_robin(frames, setups, BackendBenchOptions(cameras=(1,), passes=2, warmup=0))
    assert seen["published"] == seen["same"] == [0, 10, 20, 0, 10, 20]
    assert section["agreement"]["same_1cam"]["within_tolerance"]
    assert not section["agreement"]["off_1cam"]["within_tolerance"]  # 0.5 px off: caught
    assert "within_tolerance" not in section["agreement"]["low_1cam"]  # reduced precision: reported only
    rows = {s["name"]: s for s in section["setups"]}
    assert all(len(r["ms_per_frame_values"]) == 6 for r in rows.values())
    assert rows["published_1cam"]["speedup_vs_published"] == 1.0
    table = backend_table(section)
    assert "| off_1cam | fp32 |" in table
    assert "**DIFFERENT**" in table
    assert "deviation reported" in table
