"""orpose-bench: its pieces on made-up data, then the real thing in its tiniest modes (CPU, no timing asserts).

The model bench run here is a correctness check of `OrPosePredictor` against detectron2's
`DefaultPredictor` (the published pipeline) on real frames with the same random weights: it fails when
any box, score or keypoint differs beyond float tolerance. The ROS bench run starts real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from orpose_ros.bench import ros_bench
from orpose_ros.bench.model_bench import FP32_TOLERANCE, FrameArrays, compare_outputs
from orpose_ros.bench.report import latency_summary, markdown_report, write_json, write_plot
from orpose_ros.bench.ros_bench import RosBenchOptions, Setup, node_command, service_times_ms, summarize_setup
from orpose_ros.ros.dds import shipped_profile

REPO = Path(__file__).resolve().parents[1]


def _frame(persons: int, seed: int = 0) -> FrameArrays:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 300, (persons, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(50, 150, (persons, 2))], axis=1).astype(np.float32)
    keypoints = np.concatenate([rng.uniform(0, 400, (persons, 17, 2)), rng.normal(size=(persons, 17, 1))], axis=2)
    return FrameArrays(boxes=boxes, scores=np.sort(rng.uniform(0.05, 1, persons))[::-1].astype(np.float32),
                       keypoints=keypoints.astype(np.float32),
                       joints_3d=rng.normal(size=(persons, 17, 3)).astype(np.float32))


def _shifted(frame: FrameArrays, **offsets: float) -> FrameArrays:
    keypoints = frame.keypoints.copy()
    keypoints[..., :2] += offsets.get("keypoints", 0.0)
    return FrameArrays(boxes=frame.boxes + offsets.get("boxes", 0.0), scores=frame.scores + offsets.get("scores", 0.0),
                       keypoints=keypoints, joints_3d=frame.joints_3d + offsets.get("joints", 0.0))


# ------------------------------------------------------------------------------------------
# Pieces


def test_identical_outputs_agree_and_every_kind_of_difference_is_caught() -> None:
    reference = [_frame(3, 0), _frame(0, 1), _frame(5, 2)]
    same = compare_outputs(reference, reference, FP32_TOLERANCE)
    assert same["within_tolerance"] and same["unmatched"] == 0 and same["same_order"]
    assert same["persons_reference"] == same["persons_tested"] == 8
    assert all(v == 0.0 for v in same["max_abs"].values())

    for offsets, key in [({"boxes": 0.5}, "box_px"), ({"scores": 0.01}, "score"),
                         ({"keypoints": 2.0}, "keypoint_xy_px"), ({"joints": 0.01}, "joint_3d_m")]:
        tested = [_shifted(f, **offsets) for f in reference]
        result = compare_outputs(reference, tested, FP32_TOLERANCE)
        assert not result["within_tolerance"], offsets
        assert result["max_abs"][key] == pytest.approx(next(iter(offsets.values())), rel=1e-3)

    missing = [reference[0], reference[1], FrameArrays(*(a[:-1] for a in (reference[2].boxes, reference[2].scores,
                                                                              reference[2].keypoints,
                                                                              reference[2].joints_3d)))]
    result = compare_outputs(reference, missing, FP32_TOLERANCE)
    assert result["unmatched"] == 1 and not result["within_tolerance"]
    assert "within_tolerance" not in compare_outputs(reference, reference)  # no tolerance: deviation only


def test_latency_summary_and_service_times() -> None:
    summary = latency_summary([10.0, 20.0, 30.0, 40.0])
    assert summary["n"] == 4 and summary["p50"] == 25.0 and summary["min"] == 10.0 and summary["max"] == 40.0
    assert latency_summary([])["n"] == 0
    ms = 1_000_000
    # frame 0 alone (1 s); frame 1 arrived while the node was busy: its work starts at receipt of frame 0.
    poses = [["/c", 0, 1000 * ms, 2], ["/c", 500 * ms, 2100 * ms, 2], ["/c", 5000 * ms, 5900 * ms, 1]]
    assert service_times_ms(poses) == pytest.approx([1000.0, 1100.0, 900.0])


def test_summary_counts_drops_and_overhead(tmp_path: Path) -> None:
    ms = 1_000_000
    probe = {
        "poses": [["/cam", 0, 1010 * ms, 3], ["/cam", 2000 * ms, 3012 * ms, 3]],
        "diagnostics": {"/cam": {"received": 3, "dropped": 1, "rejected": 0}},
        "model": {"inference_ms_mean": 1000.0, "inference_ms_p95": 1010.0, "end_to_end_ms_mean": 1011.0},
    }
    options = RosBenchOptions(cameras=(1,), rate_hz=1.0, duration_s=4.0)
    setup = Setup(cameras=1, rate_hz=1.0, duration_s=4.0, dds_mode="shipped")
    s = summarize_setup(setup, probe, ["/cam"], 4, options, REPO / "config" / "fastdds_shm.xml", 4.0)
    assert s["name"] == "1cam_1Hz_shipped" and s["dds"] == "shipped profile"
    assert (s["published"], s["node_received"], s["lost_before_node"], s["node_dropped"]) == (4, 3, 1, 1)
    assert s["poses_received"] == 2 and s["latency_ms"]["p50"] == pytest.approx(1011.0)
    assert s["node_overhead_ms"] == pytest.approx(11.0) and s["node_overhead_pct"] == pytest.approx(1.1)
    assert ros_bench._drained({**probe, "diagnostics_recv_ns": 10}, ["/cam"], 5)
    assert not ros_bench._drained({**probe, "diagnostics_recv_ns": 10}, ["/cam"], 50)


def test_ros_env_and_node_command(tmp_path: Path) -> None:
    base = {"_ROS_WHEELS_BOOTSTRAP_COMPLETE": "1", "FASTDDS_DEFAULT_PROFILES_FILE": "/x.xml", "PATH": "/bin"}
    env = ros_bench.ros_env(tmp_path, None, base)
    assert "_ROS_WHEELS_BOOTSTRAP_COMPLETE" not in env and "FASTDDS_DEFAULT_PROFILES_FILE" not in env
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST" and 1 <= int(env["ROS_DOMAIN_ID"]) <= 101
    assert env["ROS_LOG_DIR"].startswith(str(tmp_path))
    profile = shipped_profile()
    assert profile.is_file()
    assert ros_bench.ros_env(tmp_path, profile, base)["FASTDDS_DEFAULT_PROFILES_FILE"] == str(profile)
    command = node_command(RosBenchOptions(), ["/a/image_raw", "/b/image_raw"])
    assert command[1:4] == ["-m", "orpose_ros.node", "--ros-args"]
    assert "image_topics:=[/a/image_raw,/b/image_raw]" in command and "random_weights_seed:=0" in command


def test_report_from_a_made_up_result(tmp_path: Path) -> None:
    setup = {"name": "published", "cameras": 1, "frames": 2, "frames_per_s": 0.5, "speedup_vs_published": 1.0,
             "latency_ms": latency_summary([2000.0, 2100.0]), "latencies_ms": [2000.0, 2100.0]}
    agreement = {"exact_check": True, "within_tolerance": False, "persons_reference": 2, "persons_tested": 2,
                 "unmatched": 0, "max_abs": dict.fromkeys(FP32_TOLERANCE, float("nan"))}
    result = {"meta": {"command": "orpose-bench x", "machine": {"summary": "test machine"}},
              "model": {"device_name": "cpu", "setups": [setup], "agreement": {"orpose_1cam_fp32": agreement}},
              "ros": None}
    table = markdown_report(result)
    assert "| published | cpu | 1 | 2 | 0.500 | 1.00x | 2050.0 |" in table and "**DIFFERENT**" in table
    write_json(result, tmp_path / "bench.json")
    assert json.loads((tmp_path / "bench.json").read_text())["model"]["agreement"]["orpose_1cam_fp32"]["max_abs"][
        "score"] is None  # NaN -> null: strict JSON
    write_plot(result, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------
# The real thing, as the README runs it


def _bench(tmp_path: Path, env: dict[str, str], *args: str | Path, timeout: float) -> tuple[dict, str]:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "orpose_ros.bench.cli", "--random-weights", "0", "--device", "cpu",
               "--out", str(out), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert (out / "bench.png").stat().st_size > 0 and (out / "bench.md").read_text() in result.stdout
    return json.loads((out / "bench.json").read_text()), result.stdout


def test_model_bench_matches_the_published_pipeline(tmp_path: Path, reference_dir: Path, stats_path: Path,
                                                     ros_env: dict[str, str]) -> None:
    bench, table = _bench(tmp_path, ros_env, "--skip-ros", "--frames", reference_dir / "mvor_seq1_x12",
                          "--stats", stats_path, "--model-frames", "2", "--warmup", "0", "--cameras", "1,3",
                          "--gpu-preprocess", "on", timeout=240)
    model = bench["model"]
    assert bench["ros"] is None and model["device"] == "cpu" and model["frames"] == 2
    assert model["frame_size"] == [640, 480] and model["checkpoint"] == "random detecting weights, seed 0"
    names = [s["name"] for s in model["setups"]]
    assert names == ["published", "orpose_1cam_fp32", "orpose_3cam_fp32", "orpose_1cam_fp32+torch-preprocess",
                     "orpose_3cam_fp32+torch-preprocess"]
    for setup in model["setups"]:
        assert setup["frames_per_s"] > 0 and len(setup["latencies_ms"]) == setup["calls"] > 0
        assert all(setup["latency_ms"][k] > 0 for k in ("p50", "p95", "p99"))
    assert model["setups"][2]["frames"] == 3  # one call of 3 cameras
    for name in names[1:3]:
        agreement = model["agreement"][name]
        assert agreement["same_weights"] and agreement["exact_check"]
        assert agreement["persons_reference"] > 0, "random weights must detect people for the check to mean anything"
        assert agreement["unmatched"] == 0 and agreement["within_tolerance"], agreement
    for name in names[3:]:  # the CUDA fast path's preprocessing, run on the CPU: a deviation, not a verdict
        agreement = model["agreement"][name]
        assert not agreement["exact_check"] and "within_tolerance" not in agreement
        assert agreement["same_weights"] and all(np.isfinite(v) for v in agreement["max_abs"].values())
    assert "| orpose_3cam_fp32 |" in table and "equal (within fp32 tolerance)" in table


def test_ros_bench_measures_poses_end_to_end(tmp_path: Path, reference_dir: Path, stats_path: Path,
                                             ros_env: dict[str, str]) -> None:
    bench, table = _bench(tmp_path, ros_env, "--skip-model", "--frames", reference_dir / "mvor_seq1_x12",
                          "--stats", stats_path, "--cameras", "1", "--rate", "0.5", "--duration", "10",
                          "--dds", "shipped", "--transport-rate", "0", timeout=240)
    ros = bench["ros"]
    assert bench["model"] is None and len(ros["setups"]) == 1
    setup = ros["setups"][0]
    assert setup["dds"] == "shipped profile" and setup["published"] == 5
    assert setup["poses_received"] > 0 and setup["node_received"] > 0
    assert all(latency > 0 for latency in setup["latencies_ms"]) and setup["latency_ms"]["p50"] > 0
    assert setup["poses_per_s_total"] > 0 and setup["node_inference_ms_mean"] > 0
    assert ros["overhead"]["setup"] == setup["name"] and "node_overhead_ms" in setup
    assert setup["node_input_hz_peak"][0] > 0
    assert "| 1cam_0.5Hz_shipped | shipped profile | 1 x 0.5 | 5 |" in table
    assert list((tmp_path / "out" / "ros_runs" / setup["name"] / "ros_log").iterdir())  # ROS_LOG_DIR was honoured
