"""``orpose-fuse``: people in the room from several calibrated cameras, offline, from orpose-infer results.

Reads one orpose-infer JSON per camera (frame i of every file taken at the same instant), or MVOR's own
detection file with its annotation file (``--mvor-detections``), fuses each frame
(`orpose_ros.fusion.stream.FusionStream`: association, triangulation, single-camera placement, tracking)
and writes the people, in the calibration's world frame, as JSON; with ``--zones FILE`` also each zone's
occupancy per frame and the enter/leave events, as orpose_zone_monitor publishes them (`orpose_ros.zones`);
optionally renders a top-down view of the room, framed on the whole run, the zones coloured by occupancy
(and, with the camera images, the people reprojected onto them) as PNGs or an mp4. No ROS needed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from orpose_ros.arguments import CliError, positive_float
from orpose_ros.cli.outputs import open_render_sink, write_json_atomic
from orpose_ros.drawing.room import TopDownView, draw_reprojections, draw_top_down
from orpose_ros.evaluation.mvor import MvorError, load_mvor
from orpose_ros.frames import IMAGE_SUFFIXES
from orpose_ros.fusion.association import AssociationOptions
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.floor import AUTO, CALIBRATION, fixed_floor, parse_floor_choice
from orpose_ros.fusion.joint_output import JointOutputOptions
from orpose_ros.fusion.pipeline import FusedPerson, FusionOptions, self_calibrated_floor
from orpose_ros.fusion.smoothing import OneEuroOptions
from orpose_ros.fusion.stream import CameraMoment, FusionStream, StreamOptions
from orpose_ros.fusion.support import SupportOptions
from orpose_ros.fusion.tracking import published_id
from orpose_ros.fusion.uncertainty import largest_sigma_m
from orpose_ros.geometry.calibration import CalibrationError, FloorPlane, RoomCalibration
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.geometry.placement import PLACEMENT_METHODS, PlacementOptions
from orpose_ros.zones import (
    Zone,
    ZoneError,
    ZoneMonitor,
    Zones,
    ZoneState,
    fused_people_in_room,
    load_zones,
    zone_event_to_dict,
    zone_state_to_dict,
)

PROG = "orpose-fuse"
DEFAULT_FPS = 10.0
_PANEL_HEIGHT = 360

log = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``orpose-fuse``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fuse orpose-infer results of several calibrated cameras into tracked people in the room.",
        epilog="Calibration format: config/cameras.example.yaml (or an MVOR annotation file). See docs/fusion.md.",
    )
    parser.add_argument("--calibration", type=Path, required=True, help="room calibration (YAML, or MVOR JSON)")
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="RESULTS",
        help="orpose-infer JSON files, one per camera in calibration order, or NAME=FILE to match by camera name",
    )
    parser.add_argument(
        "--mvor-detections",
        type=Path,
        metavar="FILE",
        help="instead of RESULTS: MVOR's detection file (openpose_kps_day*.json: image_id, score, coco_keypoints); "
        "--calibration is then the MVOR annotation file (camma_mvor_2018_day*.json) it refers to",
    )
    parser.add_argument(
        "--floor",
        type=_floor_choice,
        default=CALIBRATION,
        help="floor height [m] along the world z axis, 'none', 'auto': self-calibrated under the people "
        "triangulated in a first pass (as orpose-eval-mvor), or 'calibration' (default): the calibration's "
        "floor, 'auto' when it has none",
    )
    parser.add_argument(
        "--floor-moments",
        type=int,
        default=0,
        metavar="N",
        help="when the floor is self-calibrated: estimate it online from the first N frames with people seen by "
        "several cameras, as orpose_fusion_node's floor_moments does (frames before fused without a floor); "
        "default 0: from all frames in a first pass",
    )
    parser.add_argument("--json", type=Path, required=True, metavar="OUT.json", help="fused people per frame")
    parser.add_argument("--render", type=Path, metavar="OUT", help="a folder (one PNG per frame) or an .mp4 video")
    parser.add_argument(
        "--zones",
        type=Path,
        metavar="FILE",
        help="zones file (config/zones.example.yaml, in the calibration's world frame): per frame each zone's "
        "occupancy and the enter/leave events in the JSON (as orpose_zone_monitor publishes them), the zones "
        "coloured by occupancy in the render",
    )
    parser.add_argument(
        "--images",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="with --render: one folder of frames per input (same order), to draw the people reprojected onto",
    )
    parser.add_argument("--fps", type=positive_float, default=DEFAULT_FPS, help="frame rate for time stamps [Hz]")
    parser.add_argument(
        "--placement", choices=PLACEMENT_METHODS, default=PlacementOptions().method, help="single-camera placement"
    )
    parser.add_argument(
        "--keypoint-noise-px",
        type=positive_float,
        help="keypoint noise in the results' pixels (default: the privacy factor the results record, as "
        "keypoints of shrunk-and-restored frames are that coarse; else 1)",
    )
    parser.add_argument("--smooth", action="store_true", help="One-Euro smoothing of the tracked joints")
    parser.add_argument(
        "--predicted",
        action="store_true",
        help="also output the people of confirmed tracks that no camera sees at a frame, for up to the track's max "
        "age (1 s): their last skeleton moved where the track predicts it, as orpose_fusion_node publishes them "
        "(and counts them in zones: --zones marks them predicted)",
    )
    parser.add_argument(
        "--min-views",
        type=int,
        choices=range(1, 17),
        default=JointOutputOptions().min_views,
        metavar="N",
        help="output the joints of people seen by several cameras placed from >= N cameras (1, default: also those "
        "one camera saw, filled in; 2: triangulated joints only)",
    )
    parser.add_argument(
        "--single-view-min-frames",
        type=int,
        choices=range(1, 101),
        default=SupportOptions().single_view_min_frames,
        metavar="N",
        help="publish a person seen by one camera only once its torso was seen in N frames (default %(default)s; "
        "1: at once)",
    )
    parser.add_argument(
        "--max-joint-sigma",
        type=positive_float,
        default=JointOutputOptions().max_sigma_m,
        metavar="M",
        help="output only the joints whose uncertainty (largest standard deviation) is <= M metres (default: no cap)",
    )
    parser.add_argument("--mvor-distortion", action="store_true", help="MVOR calibrations: use their distortion")
    return parser


# ---- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraResults:
    """One camera's orpose-infer results: per frame, its image size and detections; the largest privacy
    factor its frames went through (1 when not recorded)."""

    name: str
    path: Path
    sources: list[str]
    sizes: list[tuple[int, int]]
    detections: list[list[PersonDetection]]
    downsample_factor: int = 1


def _person(raw: Any, where: str, index: int) -> PersonDetection:
    if not isinstance(raw, dict) or "keypoints_2d" not in raw:
        raise CliError(f"{where}: person {index}: expected an object with keypoints_2d")
    try:
        kp3 = raw.get("keypoints_3d")
        return PersonDetection(
            np.asarray(raw["keypoints_2d"], dtype=np.float64),
            float(raw.get("score", 1.0)),
            None if kp3 is None else np.asarray(kp3, dtype=np.float64),
            index,
        )
    except (TypeError, ValueError) as exc:
        raise CliError(f"{where}: person {index}: {exc}") from None


def read_results(name: str, path: Path) -> CameraResults:
    """Read an orpose-infer JSON file; `CliError` naming the file, frame and person when malformed."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"{path}: not valid JSON ({str(exc).splitlines()[0]})") from None
    frames = raw.get("frames") if isinstance(raw, dict) else None
    if not isinstance(frames, list):
        raise CliError(f'{path}: not orpose-infer results (expected {{"frames": [...]}})')
    sources, sizes, detections, factors = [], [], [], []
    for i, frame in enumerate(frames):
        where = f"{path}: frame {i}"
        try:
            width, height, persons = int(frame["width"]), int(frame["height"]), frame["persons"]
        except (KeyError, TypeError, ValueError):
            raise CliError(f"{where}: needs width, height and persons") from None
        if width < 1 or height < 1 or not isinstance(persons, list):
            raise CliError(f"{where}: bad width/height or persons")
        sources.append(str(frame.get("source", "")))
        factor = frame.get("downsample_factor", 1)
        factors.append(factor if isinstance(factor, int) and factor >= 1 else 1)
        sizes.append((width, height))
        detections.append([_person(p, where, k) for k, p in enumerate(persons)])
    return CameraResults(name, path, sources, sizes, detections, max(factors, default=1))


def match_inputs(calibration: RoomCalibration, inputs: Sequence[str]) -> list[tuple[str, Path]]:
    """(camera name, file) pairs: NAME=FILE arguments by name, plain files in calibration order."""
    named = [text for text in inputs if "=" in text and not Path(text).exists()]
    if named and len(named) != len(inputs):
        raise CliError("give either all inputs as NAME=FILE or none")
    if named:
        pairs = [(text.split("=", 1)[0], Path(text.split("=", 1)[1])) for text in inputs]
        for name, _ in pairs:
            if name not in calibration.names:
                raise CliError(f"unknown camera {name!r} (cameras: {', '.join(calibration.names)})")
        if len({name for name, _ in pairs}) != len(pairs):
            raise CliError("a camera is given twice")
        return pairs
    if len(inputs) != len(calibration.names):
        raise CliError(
            f"{len(inputs)} result files for {len(calibration.names)} cameras ({', '.join(calibration.names)}): "
            "give one per camera in calibration order, or NAME=FILE"
        )
    return [(name, Path(text)) for name, text in zip(calibration.names, inputs, strict=True)]


def read_mvor(annotations: Path, detections: Path, mvor_distortion: bool) -> tuple[RoomCalibration,
                                                                                   list[CameraResults]]:
    """MVOR's calibration and its detection file as one `CameraResults` per camera (frames in MVOR's order)."""
    try:
        dataset = load_mvor(annotations, detections, use_distortion=mvor_distortion)
    except MvorError as exc:
        raise CliError(str(exc)) from None
    results = []
    for camera in dataset.calibration.complete_cameras():
        frames = dataset.frames
        results.append(CameraResults(camera.name, detections, [""] * len(frames),
                                     [(camera.width, camera.height)] * len(frames),
                                     [list(f.detections.get(camera.name, ())) for f in frames]))
    return dataset.calibration, results


def frame_images(folder: Path, sources: list[str]) -> list[Path | None]:
    """Per frame, the image of ``folder`` named like the frame's source, else the folder's i-th image."""
    if not folder.is_dir():
        raise CliError(f"--images {folder}: not a folder")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    by_name = {p.name: p for p in images}
    return [by_name.get(Path(s).name) or (images[i] if i < len(images) else None) for i, s in enumerate(sources)]


# ---- outputs --------------------------------------------------------------------------------


def person_to_dict(person: FusedPerson) -> dict[str, Any]:
    """One fused person in the output layout: 17 x [x, y, z, confidence] or null per COCO joint, and per joint
    the cameras it was placed from (0: not placed) and its uncertainty [m] (null: unknown)."""
    placed = np.all(np.isfinite(person.joints), axis=-1)
    joints = [
        [round(float(v), 4) for v in (*xyz, c)] if ok else None
        for xyz, c, ok in zip(person.joints, person.confidence, placed, strict=True)
    ]
    sigma = largest_sigma_m(person.joint_covariance) if person.joint_covariance is not None else np.full(17, np.nan)
    return {
        "id": published_id(person.id),
        "score": round(float(person.score), 4),
        "views": list(person.cameras),
        "placement": person.placement,
        "keypoints_3d": joints,
        "joint_views": [int(v) if ok else 0 for v, ok in zip(person.num_views, placed, strict=True)],
        "joint_sigma_m": [round(float(s), 4) if ok and np.isfinite(s) else None
                          for s, ok in zip(sigma, placed, strict=True)],
    }


def _panel(image: np.ndarray, height: int) -> np.ndarray:
    scale = height / image.shape[0]
    return cv2.resize(image, (max(1, round(image.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)


def render_frame(
    view: TopDownView,
    calibration: RoomCalibration,
    people: list[FusedPerson],
    title: str,
    camera_images: list[tuple[str, np.ndarray | None]],
    zones: Sequence[tuple[Zone, ZoneState]] = (),
) -> np.ndarray:
    """The top-down view (with ``zones`` coloured by occupancy), then (when given) each camera's image with the
    people reprojected, side by side."""
    panels = [_panel(draw_top_down(view, calibration, people, title=title, zones=zones), _PANEL_HEIGHT)]
    for name, image in camera_images:
        if image is None:
            continue
        camera = calibration.camera(name).scaled_to(image.shape[1], image.shape[0])
        drawn = draw_reprojections(image, camera, people)
        cv2.putText(drawn, name, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
        panels.append(_panel(drawn, _PANEL_HEIGHT))
    return np.concatenate(panels, axis=1)


def _load_image(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise CliError(f"cannot read the image {path}")
    return image


# ---- main -----------------------------------------------------------------------------------


def _floor_choice(text: str) -> str | float:
    try:
        return parse_floor_choice(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _floor(args: argparse.Namespace, calibration: RoomCalibration, results: list[CameraResults],
           options: StreamOptions) -> FloorPlane | None:
    """The floor asked for with --floor, fixed before fusing (None while ``--floor-moments`` self-calibrates it
    during the run)."""
    if args.floor_moments < 0:
        raise CliError(f"--floor-moments must be >= 0, got {args.floor_moments}")
    floor, self_calibrate = fixed_floor(args.floor, calibration.floor)
    if args.floor_moments and not self_calibrate:
        raise CliError(f"--floor-moments needs a self-calibrated floor (--floor auto, or a calibration without "
                       f"one); the floor is {args.floor!r}" + (" and the calibration has one" if floor else ""))
    if not self_calibrate or args.floor_moments:
        return floor
    frames = ({r.name: r.detections[i] for r in results} for i in range(len(results[0].detections)))
    floor = self_calibrated_floor(calibration, frames, options.fusion)
    if floor is None and args.floor == AUTO:
        raise CliError("--floor auto: nobody is seen by two cameras, so no floor can be found; give a height")
    if floor is None:
        log.warning("the calibration has no floor and nobody is seen by two cameras to self-calibrate one: no floor")
    else:
        log.warning("the calibration has no floor: self-calibrated under the people seen by several cameras: "
                    "%.4f m along its normal", floor.offset_m)
    return floor


def _zones(path: Path, calibration: RoomCalibration) -> Zones:
    """The zones of ``--zones``, which must be in the calibration's world frame (`ZoneError` otherwise)."""
    zones = load_zones(path)
    if zones.frame_id != calibration.world_frame:
        raise ZoneError(f"{path}: frame_id: the zones are in '{zones.frame_id}' but the calibration's world frame "
                        f"is '{calibration.world_frame}'")
    return zones


def zone_occupancy(zones: Zones, fused: Sequence[Sequence[FusedPerson]],
                   fps: float) -> tuple[list[list[ZoneState]], list[dict[str, Any]]]:
    """Per frame (stamp i / ``fps`` [s]) each zone's state and, in JSON form, the enter/leave events since the
    previous frame: what orpose_zone_monitor publishes for the same people."""
    monitor = ZoneMonitor(zones)
    states, events = [], []
    for i, people in enumerate(fused):
        frame_states, frame_events = monitor.update(i / fps, fused_people_in_room(people))
        states.append(frame_states)
        events.append([zone_event_to_dict(e) for e in frame_events])
    return states, events


def run(args: argparse.Namespace) -> None:
    """Everything after argument parsing; raises `CliError`, `CalibrationError` or `ZoneError` for bad inputs."""
    if args.images is not None and args.render is None:
        raise CliError("--images needs --render")
    if bool(args.inputs) == bool(args.mvor_detections):
        raise CliError("give either RESULTS files or --mvor-detections")
    if args.mvor_detections:
        calibration, results = read_mvor(args.calibration, args.mvor_detections, args.mvor_distortion)
    else:
        calibration = load_calibration(args.calibration, mvor_distortion=args.mvor_distortion)
        if calibration.pending_names:
            raise CliError(
                f"{args.calibration}: camera {calibration.pending_names[0]!r}: intrinsics come from camera_info; "
                "orpose-fuse needs K, distortion, width and height in the calibration file"
            )
        results = [read_results(name, path) for name, path in match_inputs(calibration, args.inputs)]
    zones = _zones(args.zones, calibration) if args.zones is not None else None
    counts = {r.name: len(r.detections) for r in results}
    if len(set(counts.values())) != 1:
        raise CliError(f"the result files have different frame counts: {counts}")
    if args.images is not None and len(args.images) != len(results):
        raise CliError(f"--images needs one folder per input ({len(results)}), got {len(args.images)}")
    images = [frame_images(folder, r.sources) for folder, r in zip(args.images or [], results, strict=False)]

    options = StreamOptions(
        fusion=FusionOptions(
            # the stream widens this to each moment's privacy factor (FusionStream.process_moment)
            association=AssociationOptions(keypoint_noise_px=args.keypoint_noise_px or 1.0),
            placement=PlacementOptions(method=args.placement),
        ),
        smoothing=OneEuroOptions() if args.smooth else None,
        output=JointOutputOptions(args.min_views, args.max_joint_sigma),
        support=SupportOptions(single_view_min_frames=args.single_view_min_frames),
        floor_moments=args.floor_moments,
        predicted=args.predicted,
    )
    calibration = calibration.with_floor(_floor(args, calibration, results, options))
    frame_count = next(iter(counts.values()))
    for sizes in {tuple((r.name, r.sizes[i]) for r in results) for i in range(frame_count)}:
        calibration.for_image_sizes(dict(sizes))  # every image size checked before any work
    stream = FusionStream(calibration, options)
    set_aside: Counter[str] = Counter()  # detections (or fused joints) set aside, per cause
    logged: set[tuple[str, str]] = set()  # (camera, cause) already logged
    fused: list[list[FusedPerson]] = []
    for i in tqdm(range(frame_count), desc=PROG, unit="frame"):
        moment = {r.name: CameraMoment(r.detections[i], *r.sizes[i], r.downsample_factor) for r in results}
        fused.append(stream.process_moment(i / args.fps, moment))
        for rejection in stream.rejections:  # logged once per camera and cause, all counted
            if (rejection.camera, rejection.cause) not in logged:
                logged.add((rejection.camera, rejection.cause))
                log.warning("frame %d: %s (further ones counted, not logged)", i, rejection.detail)
            set_aside[rejection.cause] += 1
    frames_out = [{"index": i, "stamp": round(i / args.fps, 6), "persons": [person_to_dict(p) for p in people]}
                  for i, people in enumerate(fused)]
    zone_states: list[list[ZoneState]] = [[] for _ in fused]
    if zones is not None:
        zone_states, zone_events = zone_occupancy(zones, fused, args.fps)
        for frame, states, events in zip(frames_out, zone_states, zone_events, strict=True):
            frame["zones"] = [zone_state_to_dict(s) for s in states]
            frame["zone_events"] = events
    if args.render:
        # framed on every person of the run and every zone, so that nobody and nothing leaves the picture
        joints = [p.joints for people in fused for p in people]
        if zones is not None:
            joints += [np.c_[np.asarray(z.footprint.exterior.coords), np.zeros(len(z.footprint.exterior.coords))]
                       for z in zones.zones]
        view = TopDownView.around(calibration, np.concatenate(joints).reshape(-1, 3) if joints else None, 480)
        sink = open_render_sink(args.render, args.fps)
        try:
            for i, people in enumerate(tqdm(fused, desc=f"{PROG} --render", unit="frame")):
                camera_images = [(r.name, _load_image(frames[i])) for r, frames in zip(results, images, strict=False)]
                shown = list(zip(zones.zones, zone_states[i], strict=True)) if zones is not None else []
                sink.write(f"frame_{i:06d}", render_frame(view, calibration, people,
                                                          f"frame {i}  t = {i / args.fps:.2f} s", camera_images,
                                                          shown))
        finally:
            sink.close()
    final = stream.online_floor.floor if stream.online_floor is not None else calibration.floor
    out = {
        "world_frame": calibration.world_frame,
        # the floor the run ended with (world frame): points p with normal . p == offset_m [m]; null: none
        "floor": None if final is None else {"normal": final.normal_world.tolist(), "offset_m": final.offset_m},
        "fps": args.fps,
        "cameras": [r.name for r in results],
        "joint_order": "COCO-17",
        **({"zones_file": str(args.zones), "zones": list(zones.names)} if zones is not None else {}),
        "set_aside": dict(sorted(set_aside.items())),
        "frames": frames_out,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, out)
    people_total = sum(len(f["persons"]) for f in frames_out)
    ids = {p["id"] for f in frames_out for p in f["persons"] if p["id"] > 0}
    aside = "".join(f", {n} set aside: {cause}" for cause, n in sorted(set_aside.items()))
    floor = "none" if final is None else f"{final.offset_m:.3f} m along its normal"
    print(f"{PROG}: {len(frames_out)} frames, {people_total} people ({len(ids)} tracks){aside}, floor {floor} "
          f"-> {args.json}")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (2 for a mistake in the arguments or inputs)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        run(args)
    except (CliError, CalibrationError, ZoneError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
