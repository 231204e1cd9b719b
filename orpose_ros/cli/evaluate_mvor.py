"""``orpose-eval-mvor``: score multi-camera fusion on MVOR (real operating-room geometry and detections).

Runs `fuse_frame` on the detections of every synchronised frame of an MVOR annotation file, matches the
fused people to the 3D ground truth and prints a Markdown table (recall, error per joint group, false
positives, fusion time). MVOR gives no floor: by default it is self-calibrated from the people seen by
several cameras (`geometry.placement.estimate_floor`, no ground truth involved). Fusion is timed with
`time.perf_counter` around `fuse_frame` only, on one CPU core.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from orpose_ros.arguments import CliError, floor_argument
from orpose_ros.evaluation.mvor import MvorDataset, MvorError, load_mvor
from orpose_ros.evaluation.mvor_distance_study import distance_study, distance_table
from orpose_ros.evaluation.mvor_evaluation import (
    JOINT_GROUPS,
    Evaluation,
    annotation_consistency,
    details_table,
    markdown_table,
)
from orpose_ros.evaluation.mvor_uncertainty import mvor_uncertainty, uncertainty_table
from orpose_ros.fusion.joint_output import JointOutputOptions, output_joints
from orpose_ros.fusion.pipeline import FusedPerson, FusionOptions, fuse_frame, self_calibrated_floor
from orpose_ros.fusion.stream import with_joint_covariance
from orpose_ros.fusion.support import SupportOptions, frame_support
from orpose_ros.fusion.uncertainty import UncertaintyOptions
from orpose_ros.fusion.warm_up import compile_kernels
from orpose_ros.geometry.body_model import upright_template_from_camera_pose
from orpose_ros.geometry.calibration import FloorPlane
from orpose_ros.geometry.placement import PLACEMENT_METHODS, PlacementOptions
from orpose_ros.h36m_stats import H36MStats, StatsError

PROG = "orpose-eval-mvor"
HALVES = ("first", "second")
log = logging.getLogger(PROG)


def half_of(dataset: MvorDataset, half: str | None) -> MvorDataset:
    """``dataset`` with the ``first`` (frames [0, N // 2)) or ``second`` (frames [N // 2, N)) half of its
    frames, in file order; all of them for None."""
    if half is None:
        return dataset
    if half not in HALVES:
        raise ValueError(f"half must be one of {HALVES}, got {half!r}")
    middle = len(dataset.frames) // 2
    return replace(dataset, frames=dataset.frames[:middle] if half == "first" else dataset.frames[middle:])


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``orpose-eval-mvor``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Evaluate multi-camera fusion on MVOR: recall, joint errors, false positives, time.",
        epilog="Data: https://github.com/CAMMA-public/MVOR (CC BY-NC-SA 4.0); read in place, never copied.",
    )
    parser.add_argument("--annotations", type=Path, required=True, help="camma_mvor_2018*.json")
    parser.add_argument("--detections", type=Path, required=True, help="openpose_kps*.json (COCO-17 keypoints)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the scores as JSON")
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="top-down view of a frame and errors per group")
    parser.add_argument(
        "--floor",
        type=floor_argument,
        default="auto",
        help="floor height [m] in MVOR's room frame (z up), 'none', or 'auto' (default): self-calibrated "
        "from the triangulated people",
    )
    parser.add_argument(
        "--placement", choices=PLACEMENT_METHODS, default=PlacementOptions().method, help="single-camera placement"
    )
    parser.add_argument(
        "--no-fill",
        action="store_true",
        help="do not place the joints only one camera of a triangulated person sees (FusionOptions)",
    )
    parser.add_argument(
        "--placement-study",
        action="store_true",
        help="also place every detection from its camera alone with each method and template, and score them",
    )
    parser.add_argument(
        "--distance-study",
        action="store_true",
        help="also place every detection from its camera alone and score it by the person's distance to the camera",
    )
    parser.add_argument("--h36m-stats", type=Path, help="h36stats.json: adds its mean pose as a template to the study")
    parser.add_argument(
        "--annotation-consistency",
        action="store_true",
        help="also triangulate MVOR's own 2D annotations and score them like the fusion (a floor for any method)",
    )
    parser.add_argument(
        "--uncertainty",
        action="store_true",
        help="also check the stated joint uncertainty against the ground truth (fusion.mvor_uncertainty)",
    )
    parser.add_argument(
        "--min-views",
        type=int,
        default=JointOutputOptions().min_views,
        metavar="N",
        help="output the joints of people seen by several cameras placed from >= N cameras (fusion.joint_output; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--max-joint-sigma",
        type=float,
        default=JointOutputOptions().max_sigma_m,
        metavar="M",
        help="output the joints whose stated uncertainty (largest standard deviation) is <= M metres (default: no cap)",
    )
    parser.add_argument(
        "--no-support",
        action="store_true",
        help="score every fused person, also those fusion.support keeps tentative (single-camera people without "
        "a seen torso)",
    )
    parser.add_argument(
        "--half",
        choices=HALVES,
        help="evaluate on one half of the frames only (first: frames [0, N/2), second: [N/2, N), in file order, "
        "i.e. time order): choose on one half, report on the other",
    )
    parser.add_argument("--mvor-distortion", action="store_true", help="use MVOR's lens distortion (default: pinhole)")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU core")
    parser.add_argument(
        "--timing-repeats", type=int, default=5, metavar="N", help="fuse each frame N times, time = median (default 5)"
    )
    return parser


def _idlest_cpu(cpus: set[int], sample_s: float = 0.3) -> int:
    """The CPU of ``cpus`` with the most idle time over ``sample_s`` (from /proc/stat); the lowest if unknown."""

    def idle_times() -> dict[int, int]:
        try:
            lines = Path("/proc/stat").read_text().splitlines()
        except OSError:
            return {}
        fields = (line.split() for line in lines if line.startswith("cpu") and line[3].isdigit())
        return {int(f[0][3:]): int(f[4]) + int(f[5]) for f in fields}  # idle + iowait

    before = idle_times()
    time.sleep(sample_s)
    after = idle_times()
    idle = {cpu: after.get(cpu, 0) - before.get(cpu, 0) for cpu in cpus}
    return max(sorted(cpus), key=lambda cpu: idle[cpu])


def pin_to_one_core() -> str:
    """Run on one CPU core, the idlest now (and one BLAS thread where threadpoolctl is available)."""
    cpu = _idlest_cpu(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    try:
        from threadpoolctl import threadpool_limits  # optional
    except ImportError:
        return f"pinned to CPU {cpu}"
    threadpool_limits(1)
    return f"pinned to CPU {cpu}, 1 BLAS thread"


def output_people(
    dataset: MvorDataset,
    people: list[FusedPerson],
    output: JointOutputOptions,
    support: SupportOptions | None = None,
) -> list[FusedPerson]:
    """The people `FusionStream` would publish from one frame: those ``support`` finds supported by the frame
    alone (`fusion.support.frame_support`; None: all; MVOR's frames are 75 s apart, so no track history), with
    their joint covariances (`fusion.uncertainty`) and the joints ``output`` keeps (`fusion.joint_output`)."""
    if support is not None:
        people = [p for p in people if frame_support(p, support)]
    if output.keeps_everything:
        return people
    noise = UncertaintyOptions().keypoint_noise_px
    stated = (with_joint_covariance(p, dataset.calibration, UncertaintyOptions(), noise) for p in people)
    kept = (output_joints(p, output) for p in stated)
    return [p for p in kept if p is not None]


def run(
    dataset: MvorDataset,
    options: FusionOptions,
    repeats: int = 1,
    progress: str | None = None,
    output: JointOutputOptions | None = None,
    support: SupportOptions | None = None,
) -> tuple[Evaluation, list, list[float]]:
    """Fuse and score every frame; returns the evaluation, the fused people per frame and, per frame, the
    median CPU time of the process during its runs [ms].

    Each frame is fused ``repeats`` times (the result is the same) and its wall-clock time
    (`time.perf_counter`) is the median of those runs. The CPU time (`time.process_time`) is not inflated
    when other processes share the core. The people scored are those ``support`` and ``output`` keep
    (`output_people`, not timed). The fusion's compiled loops are compiled (or loaded) first, untimed
    (`fusion.warm_up`).
    """
    output = output or JointOutputOptions()
    compile_kernels(options)
    evaluation = Evaluation(dataset.joint_names, dataset.calibration)
    fused, cpu_ms = [], []
    for frame in tqdm(dataset.frames, desc=progress, disable=progress is None, unit="frame"):
        times_ms, cpu_times_ms = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            people = fuse_frame(dataset.calibration, frame.detections, options)
            times_ms.append(1000.0 * (time.perf_counter() - start))
            cpu_times_ms.append(1000.0 * (time.process_time() - start_cpu))
        people = output_people(dataset, people, output, support)
        evaluation.add_frame(frame, people, float(np.median(times_ms)))
        fused.append(people)
        cpu_ms.append(float(np.median(cpu_times_ms)))
    return evaluation, fused, cpu_ms


def placement_study(dataset: MvorDataset, options: FusionOptions, templates: dict[str, np.ndarray | None]) -> dict:
    """Every detection placed from its own camera alone, per method and template: scores over the ground-truth
    people annotated in that camera ("all") and over those only that camera annotates ("1")."""
    study = {}
    for template_name, template in templates.items():
        for method in PLACEMENT_METHODS:
            placement = replace(options.placement, method=method, template_coco=template)
            single = replace(options, placement=placement)
            evaluation = Evaluation(dataset.joint_names, dataset.calibration)
            for frame in dataset.frames:
                for name, detections in frame.detections.items():
                    people = fuse_frame(dataset.calibration, {name: detections}, single)
                    view = replace(
                        frame,
                        people=tuple(p for p in frame.people if name in p.cameras),
                        unlabelled_boxes={name: frame.unlabelled_boxes[name]},
                    )
                    evaluation.add_frame(view, people)
            summary = evaluation.summary()
            study[f"{method} / {template_name}"] = {s: summary["splits"][s] for s in ("1", "all")}
    return study


def study_table(study: dict) -> str:
    """The placement study as a Markdown table."""
    lines = [
        "| method / template | people (one camera each) | recall | shoulders+elbows+wrists | hips | "
        "recall (single-camera people) | shoulders+elbows+wrists (single-camera people) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in study.items():
        a, one = s["all"], s["1"]
        lines.append(
            f"| {name} | {a['people']} | {a['recall_percent']} % | {a['arms_error_cm']} cm | {a['error_cm']['hip']} cm "
            f"| {one['recall_percent']} % | {one['arms_error_cm']} cm |"
        )
    return "\n".join(lines) + "\n"


def save_plot(path: Path, dataset: MvorDataset, fused: list, summary: dict) -> None:
    """A top-down view of the frame with most people (ground truth grey, predictions coloured) and the mean
    error per joint group and camera count."""
    import cv2  # pictures only when asked for
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from orpose_ros.drawing.room import TopDownView, draw_top_down

    index = max(range(len(dataset.frames)), key=lambda i: (len(dataset.frames[i].people), -i))
    frame, people = dataset.frames[index], [p.with_id(k) for k, p in enumerate(fused[index])]
    truth = [p.joints_world for p in frame.people]
    points = np.concatenate([j.reshape(-1, 3) for j in truth] + [p.joints for p in people])
    view = TopDownView.around(dataset.calibration, points, size_px=520, margin_m=0.7)
    picture = draw_top_down(
        view,
        dataset.calibration,
        people,
        ground_truth=truth,
        ground_truth_edges=_mvor_edges(dataset),
        title=f"frame {index}",
    )
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
    left.imshow(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
    left.set_title("top view (x right, y up; grey: ground truth)", fontsize=9)
    left.axis("off")
    width = 0.25
    for k, split in enumerate(("1", "2", "3")):
        values = [summary["splits"][split]["error_cm"][g] or 0.0 for g in JOINT_GROUPS]
        right.bar(np.arange(len(JOINT_GROUPS)) + (k - 1) * width, values, width, label=f"{split} camera(s)")
    right.set_xticks(np.arange(len(JOINT_GROUPS)), [g + "s" for g in JOINT_GROUPS])
    right.set_ylabel("mean error [cm]")
    right.set_title("error per joint group, by cameras annotating the person", fontsize=9)
    right.legend(fontsize=8)
    right.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _mvor_edges(dataset: MvorDataset) -> list[tuple[int, int]]:
    """MVOR-10 skeleton edges (0-based), from the joint names."""
    n = dataset.joint_names.index
    pairs = [("head", "neck"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
             ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
             ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
             ("left_hip", "right_hip")]  # fmt: skip
    return [(n(a), n(b)) for a, b in pairs if a in dataset.joint_names and b in dataset.joint_names]


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (2 for a mistake in the arguments or inputs)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        for path in (args.annotations, args.detections):
            if not path.is_file():
                raise CliError(f"no such file: {path}")
        template = None
        if args.h36m_stats is not None:
            template = upright_template_from_camera_pose(H36MStats.from_json(args.h36m_stats).mean_pose_m())
        dataset = half_of(load_mvor(args.annotations, args.detections, use_distortion=args.mvor_distortion),
                          args.half)
        output = JointOutputOptions(min_views=args.min_views, max_sigma_m=args.max_joint_sigma)
    except (CliError, MvorError, StatsError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    core = "all cores" if args.all_cores else pin_to_one_core()
    options = FusionOptions(placement=PlacementOptions(method=args.placement), fill_single_view_joints=not args.no_fill)
    if args.floor == "auto":
        floor = self_calibrated_floor(dataset.calibration, (f.detections for f in dataset.frames), options)
    else:
        floor = None if args.floor == "none" else FloorPlane.horizontal(args.floor)
    dataset = replace(dataset, calibration=dataset.calibration.with_floor(floor))
    support = None if args.no_support else SupportOptions(min_joint_score=options.placement.min_joint_score)
    evaluation, fused, cpu_ms = run(dataset, options, max(1, args.timing_repeats), progress="fusing", output=output,
                                    support=support)
    summary = evaluation.summary()
    summary["fusion_cpu_ms_per_frame"] = {
        "mean": round(float(np.mean(cpu_ms)), 3),
        "median": round(float(np.median(cpu_ms)), 3),
        "p95": round(float(np.percentile(cpu_ms, 95)), 3),
    }
    environment = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                              "OMP_NUM_THREADS") if k in os.environ}  # fmt: skip
    summary["floor_z_m"] = None if floor is None else round(float(floor.offset_m), 4)
    summary["floor_source"] = "self-calibrated" if args.floor == "auto" else "given"
    summary["timing"] = {"cpu": core, "environment": environment, "repeats_per_frame": max(1, args.timing_repeats)}
    summary["half"] = args.half or "all"
    summary["output"] = {"min_views": output.min_views, "max_joint_sigma_m": output.max_sigma_m,
                         "support": "none" if support is None else "frame (torso of single-camera people)"}
    print(markdown_table(summary))
    print(details_table(summary))
    floor_text = "none" if floor is None else f"z = {floor.offset_m:.3f} m ({summary['floor_source']})"
    print(
        f"Floor: {floor_text}. Timing: {core}, median of {max(1, args.timing_repeats)} runs per frame; "
        f"environment {environment or 'has no BLAS variables set'}."
    )
    cpu = summary["fusion_cpu_ms_per_frame"]
    print(f"CPU time of fusion per frame: mean {cpu['mean']} ms, median {cpu['median']} ms, p95 {cpu['p95']} ms.")
    print(f"Matched predictions by placement: {summary['matched_placements']}")
    if args.annotation_consistency:
        summary["annotation_consistency"] = annotation_consistency(dataset)
        print("MVOR's 2D annotations triangulated, against its 3D annotations (shoulders, elbows, wrists):")
        for views, scores in summary["annotation_consistency"].items():
            print(f"- {views}: {scores['mean_error_cm']} cm mean over {scores['joints']} joints")
    if args.uncertainty:
        summary["uncertainty_calibration"] = mvor_uncertainty(dataset, fused)
        print(uncertainty_table(summary["uncertainty_calibration"]))
    if args.placement_study:
        templates: dict[str, np.ndarray | None] = {"anthropometric": None}
        if template is not None:
            templates["h36m-mean"] = template
        summary["placement_study"] = placement_study(dataset, options, templates)
        print("\nPlacement of every detection from its own camera alone:\n")
        print(study_table(summary["placement_study"]))
    if args.distance_study:
        summary["distance_study"] = distance_study(dataset, options)
        print("\nSingle-camera placement by distance to the camera:\n")
        print(distance_table(summary["distance_study"]))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if args.plot:
        save_plot(args.plot, dataset, fused, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
