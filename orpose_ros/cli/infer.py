"""``orpose-infer``: run the ORPose model on image files, folders of images or videos, offline.

Writes the people found in each frame as JSON (2D keypoints in the pixels of the frame the
model saw, 3D joints in metres) and optionally renders boxes and skeletons into PNGs or an mp4.
No ROS needed. The model (torch, detectron2) is imported only once the arguments and inputs
have been checked, so that mistakes are reported at once.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

from orpose_ros.arguments import CliError, parse_size, positive_float, positive_int, unit_interval
from orpose_ros.backends import BACKEND_KINDS, BackendError, BackendOptions, PoseBackend, build_backend
from orpose_ros.camera_people import FALLBACK_DEPTH_M, CameraPeople
from orpose_ros.camera_pipeline import (
    NOMINAL_HFOV_DEG,
    CameraFrame,
    CameraModels,
    CameraPipeline,
    FrameResult,
    PersonResult,
    check_frame,
    process_frames,
)
from orpose_ros.cli.outputs import Mp4Sink, PngSink, open_render_sink, write_json_atomic
from orpose_ros.drawing import draw_poses
from orpose_ros.frames import Frame, FrameSourceError, InputFile, count_frames, discover_inputs, is_bag, iter_frames
from orpose_ros.geometry.calibration import CalibrationError, RoomCalibration
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.geometry.placement import PlacementOptions

PROG = "orpose-infer"
DEFAULT_FPS = 10.0

log = logging.getLogger(PROG)
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Arguments


def _topic_list(text: str) -> list[str]:
    topics = [t.strip() for t in text.split(",") if t.strip()]
    if not topics:
        raise argparse.ArgumentTypeError(f"expected topics separated by commas, got {text!r}")
    return topics


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``orpose-infer``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Multi-person 2D/3D pose estimation with the ORPose model on images or videos.",
        epilog="Get the published weights with orpose-download-models (see models/README.md).",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="image files, folders of images (read in name order) or video files; or one rosbag2 (a folder "
        "or an .mcap file) whose image topics are processed in log-time order",
    )
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument(
        "--weights",
        type=Path,
        metavar="W",
        help="checkpoint (.pth), e.g. models/orpose_fixed_12x_model_final.pth, or a folder written by orpose-export",
    )
    weights.add_argument(
        "--random-weights",
        type=int,
        metavar="SEED",
        help="random weights in the official layout, for tests and demos ONLY",
    )
    parser.add_argument(
        "--stats",
        type=Path,
        metavar="S",
        help="h36stats.json (default: found beside the weights or in models/)",
    )
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument(
        "--downsample",
        type=positive_int,
        metavar="S",
        help="inputs are full-resolution: shrink them by S and restore them, as the "
        "privacy pipeline does (default: the factor in the weights' name, else 1)",
    )
    scale.add_argument(
        "--restore-size",
        type=parse_size,
        metavar="WxH",
        help="inputs are already low-resolution (an integer shrink of WxH, e.g. 53x40 of 640x480; the factor "
        "is read from the sizes): enlarge them bilinearly to WxH as the published demo does; keypoints are "
        "then in that size's pixels",
    )
    parser.add_argument(
        "--backend", choices=BACKEND_KINDS, default="auto",
        help="runtime: detectron2 (a checkpoint), onnxruntime or openvino (an exported folder), auto: "
        "detectron2 for a checkpoint, the fastest verified runtime for a folder (default: %(default)s)",
    )
    parser.add_argument(
        "--device", default="auto", metavar="D", help="auto, cpu, cuda or cuda:N (default: %(default)s)"
    )
    parser.add_argument(
        "--score-threshold",
        type=unit_interval,
        default=0.5,
        metavar="T",
        help="keep people scoring above T (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the results to this JSON file")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="DIR_OR_MP4",
        help="draw boxes and skeletons on the frames the model saw: one PNG per frame "
        "into a folder, or a video when the path ends in .mp4",
    )
    bag = parser.add_argument_group("recorded sessions (a rosbag2 folder or .mcap file as the input)")
    bag.add_argument("--topics", type=_topic_list, metavar="T1,T2",
                     help="image topics of the bag to process (raw or compressed; default: all of them)")
    bag.add_argument("--out-bag", type=Path, metavar="DIR",
                     help="write a new bag with /orpose/poses and /orpose/markers, at the images' log times")
    bag.add_argument("--out-bag-frames", action="store_true",
                     help="also write the low-resolution frames the model saw into --out-bag (TOPIC/../lowres/..)")
    bag.add_argument("--out-bag-storage", choices=("sqlite3", "mcap"),
                     help="storage of --out-bag (default: the input's)")
    place = parser.add_argument_group("placing people (as orpose_node does; see README 'People in the room')")
    place.add_argument("--calibration", type=Path, metavar="FILE",
                       help="room calibration (YAML or MVOR JSON): a bag's topics are matched to its cameras; "
                       "other inputs are the frames of the camera named by --camera")
    place.add_argument("--camera", metavar="NAME", help="the calibration camera that took the (non-bag) inputs")
    place.add_argument("--nominal-hfov", type=positive_float, default=NOMINAL_HFOV_DEG, metavar="DEG",
                       help="horizontal field of view of a camera without calibration (default: %(default)s)")
    place.add_argument("--placement-min-keypoint-score", type=unit_interval,
                       default=PlacementOptions.min_joint_score, metavar="S",
                       help="keypoints scoring below are not used to place a person (default: %(default)s)")
    place.add_argument("--marker-depth", type=positive_float, default=FALLBACK_DEPTH_M, metavar="M",
                       help="distance [m] at which people who cannot be placed are drawn and tracked "
                       "(default: %(default)s)")
    parser.add_argument("--fp16", action="store_true", help="half precision (CUDA only)")
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=1,
        metavar="N",
        help="frames per forward pass (default: %(default)s)",
    )
    return parser


# ---------------------------------------------------------------------------------------------
# Inputs


def batched(frames: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` frames (the last one may be shorter)."""
    iterator = iter(frames)
    while batch := list(islice(iterator, size)):
        yield batch


# ---------------------------------------------------------------------------------------------
# Results


def _number(value: Any) -> float | None:
    """A JSON number; None (null) for NaN or infinity, which JSON cannot hold."""
    value = float(value)
    return value if math.isfinite(value) else None


def _rows(array: Any) -> list[list[float | None]]:
    return [[_number(v) for v in row] for row in np.asarray(array)]


def person_to_dict(person: PersonResult) -> dict[str, Any]:
    """One person as JSON: identity (0 = unconfirmed), score, bbox [x1, y1, x2, y2] px, 17 x [x, y, score] px,
    17 x [x, y, z] m (pelvis-relative); where it was placed (camera optical frame [m], null when not placed); its
    tracking state in this camera (new, measured; null when not tracked), the time since it was last measured [s]
    and its pelvis velocity [m/s] (camera optical frame; null when not placed or not tracked), as in PersonPose."""
    detection, location = person.detection, person.location
    return {
        "id": int(location.id),
        "score": _number(detection.score),
        "bbox": [_number(v) for v in np.asarray(detection.bbox).reshape(4)],
        "keypoints_2d": _rows(detection.keypoints_2d),
        "keypoints_3d": _rows(detection.keypoints_3d),
        "placement": str(location.method),
        "position": [_number(v) for v in location.pelvis] if location.placed else None,
        "keypoints_3d_camera": _rows(location.joints_h36m) if location.placed else None,
        "tracking_state": None if location.tracking_state is None else str(location.tracking_state),
        "time_since_measured_s": _number(location.since_measured_s),
        "velocity": [_number(v) for v in location.velocity] if np.all(np.isfinite(location.velocity)) else None,
    }


def frame_to_dict(source: str, result: FrameResult) -> dict[str, Any]:
    """One frame in the JSON layout; width and height are those the coordinates refer to."""
    return {
        "source": source,
        "width": int(result.width),
        "height": int(result.height),
        "downsample_factor": int(result.downsample_factor),
        "camera": result.camera.name,
        "metric": bool(result.metric),
        "persons": [person_to_dict(p) for p in result.people],
    }


# ---------------------------------------------------------------------------------------------
# Model and main loop


def backend_options(args: argparse.Namespace) -> BackendOptions:
    """The pose backend the arguments ask for."""
    return BackendOptions(weights=args.weights, random_seed=args.random_weights, stats=args.stats,
                          kind=args.backend, device=args.device, fp16=args.fp16, downsample_factor=args.downsample,
                          score_threshold=args.score_threshold)


def build_predictor(args: argparse.Namespace) -> PoseBackend:
    """The backend the arguments ask for; its errors become one-line ``CliError``s."""
    try:
        return build_backend(backend_options(args))
    except BackendError as err:
        raise CliError(str(err)) from err


def check_paths(args: argparse.Namespace) -> None:
    """Fail before loading the model when a named file is missing or an output cannot be written."""
    for option, path in (("--weights", args.weights), ("--stats", args.stats)):
        if path is not None and not (path.is_file() or (option == "--weights" and path.is_dir())):
            raise CliError(f"{option}: file not found: {path} (see models/README.md: orpose-download-models)")
    if args.json is not None:
        if args.json.is_dir():
            raise CliError(f"--json {args.json} is a folder; give a file name")
        args.json.parent.mkdir(parents=True, exist_ok=True)


@dataclass
class Summary:
    """What a run did, for the final line."""

    frames: int = 0
    persons: int = 0
    seconds: float = 0.0
    skipped: Counter = field(default_factory=Counter)  # per topic: bag messages that could not be used

    def skip(self, topic: str, where: str, error: Exception) -> None:
        """Count a bag message that cannot be used; a warning for the first of each topic."""
        if not self.skipped[topic]:
            log.warning("%s: skipped (%s); later ones of %s are only counted", where, error, topic)
        self.skipped[topic] += 1


def process(
    predictor: PoseBackend,
    frames: Iterable[Any],
    camera_of: Callable[[Any], CameraFrame],
    args: argparse.Namespace,
    sink: PngSink | Mp4Sink | None,
    progress: tqdm,
    on_result: Callable[[Any, FrameResult], None] | None = None,
    summary: Summary | None = None,
) -> tuple[list[dict[str, Any]], Summary]:
    """Run the camera pipeline over all frames in batches; JSON-ready results and counts.

    ``frames`` have a ``source``, a ``name`` and an ``image`` (`Frame`, or a bag's `BagFrame`);
    ``camera_of`` checks one and gives it its camera (ValueError when the model cannot take it). With
    ``on_result`` (bags) a frame the model cannot take is skipped and counted; otherwise it is a `CliError`.
    """
    results: list[dict[str, Any]] = []
    summary = summary or Summary()
    for batch in batched(frames, args.batch):
        progress.update(len(batch))
        taken, camera_frames = [], []
        for frame in batch:
            try:
                camera_frames.append(camera_of(frame))
            except ValueError as err:  # e.g. a frame too small for the downsample factor
                if on_result is None:
                    raise CliError(f"{frame.source}: {err}") from err
                summary.skip(frame.topic, frame.source, err)
                continue
            taken.append(frame)
        if not taken:
            continue
        start = time.perf_counter()
        frame_results = process_frames(predictor, camera_frames, return_model_view=sink is not None)
        summary.seconds += time.perf_counter() - start
        for frame, result in zip(taken, frame_results, strict=True):
            results.append(frame_to_dict(frame.source, result))
            summary.frames += 1
            summary.persons += len(result.people)
            if sink is not None:  # drawn on the frame the model saw, never an un-shrunk original
                sink.write(frame.name, draw_poses(result.model_view, result.poses))
            if on_result is not None:
                on_result(frame, result)
    return results, summary


def _restore_size(args: argparse.Namespace) -> tuple[int, int] | None:
    """(height, width) of --restore-size, or None."""
    return None if args.restore_size is None else (args.restore_size[1], args.restore_size[0])


def _camera_people(args: argparse.Namespace) -> CameraPeople:
    """Placement and identities of one camera, as orpose_node keeps them."""
    return CameraPeople(placement=PlacementOptions(min_joint_score=args.placement_min_keypoint_score),
                        fallback_depth_m=args.marker_depth)


def _render_fps(inputs: Sequence[InputFile]) -> float:
    """The input video's frame rate when there is exactly one video, else DEFAULT_FPS."""
    rates = [f.fps for f in inputs if f.is_video and f.fps > 0]
    return rates[0] if len(inputs) == 1 and rates else DEFAULT_FPS


def run(args: argparse.Namespace) -> Summary:
    """Check the inputs, load the model, process every frame, write the outputs."""
    if any(is_bag(a) for a in args.inputs):
        return run_bag(args)
    if args.topics or args.out_bag or args.out_bag_frames or args.out_bag_storage:
        raise CliError("--topics and --out-bag* need a bag as the input")
    inputs = discover_inputs(args.inputs)
    check_paths(args)
    calibration = _calibration(args)
    if calibration is not None and not args.camera:
        raise CliError(f"--calibration: name the camera that took the inputs with --camera (one of "
                       f"{', '.join(calibration.names)})")
    fps = _render_fps(inputs)
    sink = open_render_sink(args.render, fps) if args.render is not None else None
    try:
        predictor = build_predictor(args)
        log.info("model on %s, downsample factor %d", predictor.device, predictor.downsample_factor)
        models = CameraModels(args.camera or "camera", nominal_hfov_deg=args.nominal_hfov)
        if calibration is not None:
            models.calibrated = calibration.entry(args.camera)
            models.floor = calibration.floor
        pipeline = CameraPipeline(models.name, models, _camera_people(args))
        restore = _restore_size(args)
        count = itertools.count()

        def camera_of(frame: Frame) -> CameraFrame:  # the inputs are the frames of one camera, at fps
            return check_frame(predictor, pipeline, frame.image, round(next(count) * 1e9 / fps), "", restore)

        total = count_frames(inputs)
        quiet = total is not None and total <= 1
        with tqdm(total=total, unit="frame", disable=quiet, file=sys.stderr) as progress:
            results, summary = process(predictor, iter_frames(inputs), camera_of, args, sink, progress)
    finally:
        if sink is not None:
            sink.close()
    if args.json is not None:
        write_json_atomic(args.json, {"frames": results})
    return summary


def _calibration(args: argparse.Namespace) -> RoomCalibration | None:
    """The room calibration of --calibration (None without); CliError naming the file and the field."""
    if args.calibration is None:
        return None
    try:
        calibration = load_calibration(args.calibration)
        if args.camera:
            calibration.index(args.camera)
        return calibration
    except (CalibrationError, OSError, ValueError) as err:
        raise CliError(f"--calibration {args.calibration}: {' '.join(str(err).split())}") from err


def run_bag(args: argparse.Namespace) -> Summary:
    """The image topics of one bag, in log-time order; optionally a bag of results."""
    if len(args.inputs) != 1:
        raise CliError("a bag is processed alone: give it as the only input")
    from orpose_ros import privacy
    from orpose_ros.ros.bags import (
        BagError,
        BagFrame,
        BagWriter,
        bag_frames,
        image_connections,
        open_bag,
        storage_of,
        write_results,
    )

    check_paths(args)
    calibration = _calibration(args)
    bag_path = args.inputs[0]
    try:
        reader = open_bag(bag_path)
    except BagError as err:
        raise CliError(str(err)) from err
    sink = open_render_sink(args.render, DEFAULT_FPS) if args.render is not None else None
    summary = Summary()
    try:
        connections = image_connections(reader, args.topics)
        predictor = build_predictor(args)
        out = BagWriter(args.out_bag, args.out_bag_storage or storage_of(bag_path)) if args.out_bag else None
        restore = _restore_size(args)
        pipelines: dict[str, CameraPipeline] = {}

        def camera_of(frame: BagFrame) -> CameraFrame:  # one camera per topic, as orpose_node has
            if frame.topic not in pipelines:
                models = CameraModels.of_topic(frame.topic, calibration, len(pipelines), args.nominal_hfov)
                pipelines[frame.topic] = CameraPipeline(frame.topic, models, _camera_people(args))
            stamp = frame.header.stamp.sec * 1_000_000_000 + frame.header.stamp.nanosec
            return check_frame(predictor, pipelines[frame.topic], frame.image, stamp or frame.log_time_ns,
                               frame.header.frame_id, restore)

        def on_result(frame: BagFrame, result: FrameResult) -> None:
            if out is None:
                return
            lowres = None
            if args.out_bag_frames:
                lowres = frame.image if args.restore_size else privacy.shrink(frame.image, result.downsample_factor)
            write_results(out, frame.log_time_ns, frame.header, result, args.marker_depth, lowres)

        total = sum(c.msgcount for c in connections)
        with contextlib.ExitStack() as stack:
            if out is not None:
                stack.enter_context(out)
            progress = stack.enter_context(tqdm(total=total, unit="frame", file=sys.stderr))

            def skip_unreadable(topic: str, where: str, error: Exception) -> None:
                summary.skip(topic, where, error)
                progress.update(1)

            frames = bag_frames(reader, connections, skip_unreadable)
            results, summary = process(predictor, frames, camera_of, args, sink, progress, on_result, summary)
    except BagError as err:
        raise CliError(str(err)) from err
    finally:
        reader.close()
        if sink is not None:
            sink.close()
    if args.json is not None:
        for frame in results:
            topic, _, stamp = frame["source"].rpartition("@")
            frame["topic"], frame["stamp"] = topic, stamp
        write_json_atomic(args.json, {"frames": results})
    return summary


def _summary_line(summary: Summary, args: argparse.Namespace) -> str:
    per_frame = summary.seconds / summary.frames if summary.frames else 0.0
    frames = f"{summary.frames} frame{'s' if summary.frames != 1 else ''}"
    persons = f"{summary.persons} person{'s' if summary.persons != 1 else ''}"
    parts = [f"{frames}, {persons}, {per_frame:.2f} s/frame"]
    if args.json is not None:
        parts.append(f"JSON: {args.json}")
    if args.render is not None:
        parts.append(f"render: {args.render}")
    if getattr(args, "out_bag", None) is not None:
        parts.append(f"bag: {args.out_bag}")
    if summary.skipped:
        parts.append("skipped " + ", ".join(f"{n} on {topic}" for topic, n in sorted(summary.skipped.items())))
    return f"{PROG}: " + "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (0 done, 2 bad arguments or inputs)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    try:
        summary = run(args)
    except (CliError, FrameSourceError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    print(_summary_line(summary, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
