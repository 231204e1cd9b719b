"""orpose-bench-fusion: the time `fuse_frame` takes per frame on ONE core, measured (never asserted).

    orpose-bench-fusion --annotations camma_mvor_2018_day1.json --detections openpose_kps_day1.json \
        [--repeats 20] [--synthetic-frames 60] [--json OUT.json]

1. MVOR: each synchronised 3-camera frame of the annotation file with its real OpenPose detections, the floor
   self-calibrated as `orpose-eval-mvor` does.
2. Synthetic: a 5-camera ring room (`fusion.synthetic_room`) with 6 people at random places and headings,
   2 px noise, 10 % of keypoints missed, 5 % left/right swaps, 0.2 false detections per camera.

Each frame is fused ``repeats`` times after one warm-up call; every call is timed with `time.perf_counter`
(wall clock) and `time.process_time` (CPU time of the process, not inflated when another process shares the
core). The statistics (mean, median, p95, max) are over all calls. The process is pinned to the idlest core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from orpose_ros.bench.synthetic_room import DetectorNoise, detections, ring_room, standing_people
from orpose_ros.cli.evaluate_mvor import pin_to_one_core
from orpose_ros.evaluation.mvor import MvorError, load_mvor
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import FusionOptions, fuse_frame, self_calibrated_floor
from orpose_ros.geometry.calibration import RoomCalibration

PROG = "orpose-bench-fusion"
Frame = dict[str, list[PersonDetection]] | dict[str, tuple[PersonDetection, ...]]


def synthetic_frames(num_frames: int, num_cameras: int = 5, num_people: int = 6,
                     seed: int = 0) -> tuple[RoomCalibration, list[Frame]]:
    """The ring room and ``num_frames`` frames of ``num_people`` people at random places (at least 0.6 m apart)."""
    rng = np.random.default_rng(seed)
    calibration = ring_room(num_cameras)
    frames = []
    while len(frames) < num_frames:
        xy = rng.uniform(-1.8, 1.8, (num_people, 2))
        gaps = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + 10 * np.eye(num_people)
        if gaps.min() < 0.6:
            continue
        people = standing_people(xy, rng.uniform(0.0, 2 * np.pi, num_people))
        frames.append(detections(calibration, people, rng, DetectorNoise()))
    return calibration, frames


def time_calls(call: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``repeats`` calls of ``call``, after one warm-up call."""
    call()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(1000.0 * (time.perf_counter() - start))
        cpu.append(1000.0 * (time.process_time() - start_cpu))
    return wall, cpu


def statistics(values: Sequence[float]) -> dict[str, float]:
    """mean, median, p95 and max of ``values`` [ms], rounded to µs."""
    v = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(v.mean()), 3), "median": round(float(np.median(v)), 3),
            "p95": round(float(np.percentile(v, 95)), 3), "max": round(float(v.max()), 3)}


def bench(calibration: RoomCalibration, frames: Sequence[Frame], repeats: int,
          options: FusionOptions | None = None) -> dict:
    """Time `fuse_frame` on every frame; statistics over all calls, wall clock and CPU."""
    options = options or FusionOptions()
    wall, cpu = [], []
    for frame in frames:
        w, c = time_calls(lambda frame=frame: fuse_frame(calibration, frame, options), repeats)
        wall += w
        cpu += c
    people = [len(fuse_frame(calibration, f, options)) for f in frames]
    return {"frames": len(frames), "calls": len(wall), "people_per_frame": round(float(np.mean(people)), 2),
            "wall_ms": statistics(wall), "cpu_ms": statistics(cpu)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Time fuse_frame per frame on one CPU core.")
    parser.add_argument("--annotations", type=Path, help="camma_mvor_2018*.json (MVOR part; omitted: skipped)")
    parser.add_argument("--detections", type=Path, help="openpose_kps*.json of the same images")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per frame (default %(default)s)")
    parser.add_argument("--synthetic-frames", type=int, default=60, help="synthetic 5-camera frames (default 60)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the results as JSON")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU core")
    return parser


def _line(name: str, result: dict) -> str:
    w, c = result["wall_ms"], result["cpu_ms"]
    return (f"| {name} | {result['frames']} | {result['people_per_frame']} | {w['mean']} | {w['median']} | "
            f"**{w['p95']}** | {c['mean']} | {c['p95']} |")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (2 for a mistake in the arguments or inputs)."""
    args = build_parser().parse_args(argv)
    if (args.annotations is None) != (args.detections is None) or args.repeats < 1 or args.synthetic_frames < 0:
        print(f"{PROG}: error: give both --annotations and --detections (or neither), --repeats >= 1", file=sys.stderr)
        return 2
    core = "all cores" if args.all_cores else pin_to_one_core()
    results: dict[str, object] = {"cpu": core, "repeats": args.repeats}
    if args.annotations is not None:
        try:
            dataset = load_mvor(args.annotations, args.detections)
        except MvorError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
        calibration = dataset.calibration.with_floor(
            self_calibrated_floor(dataset.calibration, (f.detections for f in dataset.frames), FusionOptions()))
        results["mvor_3_cameras"] = bench(calibration, [dict(f.detections) for f in dataset.frames], args.repeats)
    if args.synthetic_frames:
        calibration, frames = synthetic_frames(args.synthetic_frames)
        results["synthetic_5_cameras_6_people"] = bench(calibration, frames, args.repeats)
    print("| frames | count | people per frame | wall mean [ms] | wall median | wall p95 | CPU mean | CPU p95 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        if isinstance(result, dict):
            print(_line(name, result))
    print(f"{core}; {args.repeats} timed calls per frame after one warm-up.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

