"""orpose-bench-fusion runs and reports (speed is measured, never asserted); the synthetic room has known truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fusion_data import mvor_file

from orpose_ros.bench.fusion_bench import main, synthetic_frames
from orpose_ros.bench.synthetic_room import DetectorNoise, detections, ring_room, standing_people
from orpose_ros.fusion.pipeline import TRIANGULATED, fuse_frame


def test_exact_detections_of_the_synthetic_room_fuse_to_the_truth() -> None:
    calibration = ring_room(5)
    truth = standing_people(np.array([[-1.0, 0.5], [0.8, -0.6], [0.2, 1.4]]), np.array([0.0, 2.0, 4.0]))
    exact = DetectorNoise(pixel_noise_px=0.0, miss_probability=0.0, swap_probability=0.0, false_per_camera=0.0)
    people = fuse_frame(calibration, detections(calibration, truth, np.random.default_rng(0), exact))
    assert len(people) == 3
    assert all(p.placement == TRIANGULATED for p in people)
    for joints in truth:
        error = min(np.abs(p.joints - joints).max() for p in people)
        assert error < 1e-6


def test_noisy_frames_have_false_detections_and_misses() -> None:
    calibration, frames = synthetic_frames(10)
    assert len(calibration.names) == 5
    assert len(frames) == 10
    counts = [len(dets) for frame in frames for dets in frame.values()]
    scores = np.concatenate([d.keypoints_2d[:, 2] for frame in frames for dets in frame.values() for d in dets])
    assert max(counts) > 6  # a false detection beside the 6 people somewhere
    assert 0.05 < float(np.mean(scores == 0)) < 0.4  # missed keypoints (and the ones out of the image)


def test_the_benchmark_writes_its_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    args = ["--annotations", str(mvor_file("camma_mvor_2018_day1.json")), "--detections",
            str(mvor_file("openpose_kps_day1.json")), "--repeats", "1", "--synthetic-frames", "3", "--all-cores",
            "--json", str(out)]  # fmt: skip
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert result["mvor_3_cameras"]["frames"] == 57
    assert result["synthetic_5_cameras_6_people"]["calls"] == 3
    assert result["mvor_3_cameras"]["cpu_ms"]["p95"] > 0
    assert "| synthetic_5_cameras_6_people | 3 |" in capsys.readouterr().out
    assert main(["--annotations", "a.json"]) == 2
