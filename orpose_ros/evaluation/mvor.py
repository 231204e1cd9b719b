"""Reading the MVOR dataset (Srivastav et al., MICCAI-LABELS 2018) for evaluating fusion.

From an annotation file (``camma_mvor_2018*.json``): the calibration (room frame, z up, metres), the
synchronised multi-view frames, the 3D ground-truth people in the room frame and, per camera, the boxes
of annotated people that have no 3D ground truth. From a detection file (``openpose_kps*.json``): the
detections per camera and frame. Measured facts used here (see the dataset's README): 3D keypoints are
in millimetres in camera 1's optical frame; ``keypoints3D`` holds the 10 named joints then 2 extra
points; a joint exactly (+50, +50, +50) mm from another is an unannotated placeholder.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.geometry.calibration import CalibrationError, RoomCalibration
from orpose_ros.geometry.calibration_files import calibration_from_mvor
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

log = logging.getLogger(__name__)

_MM_PER_M = 1000.0
_PLACEHOLDER_OFFSET_MM = 50.0
_PLACEHOLDER_TOLERANCE_MM = 1e-6


class MvorError(ValueError):
    """A missing or malformed MVOR file; the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class MvorPerson:
    """One ground-truth person of a multi-view frame.

    Attributes:
        person_id: MVOR's person id (shared by the person's 2D annotations).
        joints_world: (10, 3) MVOR-10 joints in the room frame [m]; NaN where unannotated.
        cameras: names of the cameras whose image annotates the person's keypoints.
        keypoints_2d: camera name -> (10, 3) the 2D annotation x, y [px], visibility (0: not annotated).
    """

    person_id: int
    joints_world: np.ndarray
    cameras: tuple[str, ...]
    keypoints_2d: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MvorFrame:
    """One synchronised multi-view frame.

    Attributes:
        frame_id: MVOR's multi-view id (the image ids joined by '_').
        image_ids: camera name -> image id.
        people: the 3D ground-truth people.
        detections: camera name -> detections in that camera's image.
        unlabelled_boxes: camera name -> (M, 4) boxes x1, y1, x2, y2 [px] of people annotated in that image
            but absent from the 3D ground truth (box-only or single-view annotations).
    """

    frame_id: str
    image_ids: dict[str, int]
    people: tuple[MvorPerson, ...]
    detections: dict[str, tuple[PersonDetection, ...]]
    unlabelled_boxes: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class MvorDataset:
    """Calibration, joint names (MVOR-10) and frames of an MVOR annotation file."""

    calibration: RoomCalibration
    joint_names: tuple[str, ...]
    frames: tuple[MvorFrame, ...]


def mvor_to_coco_indices(joint_names: tuple[str, ...]) -> dict[int, int]:
    """MVOR joint index -> COCO-17 index for the joints both have (shoulders, elbows, wrists, hips)."""
    return {i: COCO_KEYPOINT_NAMES.index(n) for i, n in enumerate(joint_names) if n in COCO_KEYPOINT_NAMES}


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise MvorError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MvorError(f"{path}: cannot read the {what}: {exc}") from None


def placeholder_mask(points_mm: np.ndarray) -> np.ndarray:
    """(P,) True for points exactly (+50, +50, +50) mm from another point of (P, 3) [mm] (unannotated)."""
    offsets = points_mm[:, None, :] - points_mm[None, :, :] - _PLACEHOLDER_OFFSET_MM
    return np.any(np.all(np.abs(offsets) < _PLACEHOLDER_TOLERANCE_MM, axis=-1), axis=1)


def _detections_by_image(path: Path, min_score: float) -> dict[int, list[PersonDetection]]:
    raw = _read_json(path, "detection file")
    if not isinstance(raw, list):
        raise MvorError(f"{path}: expected a list of detections")
    by_image: dict[int, list[PersonDetection]] = defaultdict(list)
    for k, det in enumerate(raw):
        try:
            keypoints = np.asarray(det["coco_keypoints"], dtype=np.float64).reshape(17, 3)
            image_id, score = int(det["image_id"]), float(det["score"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MvorError(f"{path}: detection {k}: needs image_id, score and 17 x 3 coco_keypoints ({exc})") from None
        if score < min_score:
            continue
        keypoints[keypoints[:, 2] <= 0] = 0.0  # OpenPose writes zeros where a keypoint was not found
        by_image[image_id].append(PersonDetection(keypoints, score, None, len(by_image[image_id])))
    return by_image


def load_mvor(
    annotations_path: str | Path,
    detections_path: str | Path | None = None,
    *,
    use_distortion: bool = False,
    min_detection_score: float = 0.0,
) -> MvorDataset:
    """Read an MVOR annotation file and, optionally, a detection file of the same images.

    Args:
        annotations_path: ``camma_mvor_2018*.json``.
        detections_path: ``openpose_kps*.json`` (``image_id``, ``score``, ``coco_keypoints``), or None.
        use_distortion: use MVOR's lens distortion (default: pinhole, which fits its annotations better).
        min_detection_score: detections scoring below are dropped.
    """
    path = Path(annotations_path)
    raw = _read_json(path, "annotation file")
    try:
        calibration = calibration_from_mvor(raw["cameras_info"], str(path), use_distortion=use_distortion)
        joint_names = tuple(raw["categories"][0]["keypoints"])
        multiview, annotations, annotations3d = raw["multiview_images"], raw["annotations"], raw["annotations3D"]
    except (KeyError, IndexError, TypeError) as exc:
        raise MvorError(f"{path}: not an MVOR annotation file (missing {exc})") from None
    except CalibrationError as exc:
        raise MvorError(str(exc)) from None
    detections = _detections_by_image(Path(detections_path), min_detection_score) if detections_path else {}
    cam1 = calibration.camera("cam1")

    by_image: dict[int, list[dict]] = defaultdict(list)
    for a in annotations:
        by_image[int(a["image_id"])].append(a)
    people_3d: dict[str, list[dict]] = defaultdict(list)
    for a in annotations3d:
        people_3d[a["image_ids"]].append(a)

    frames = []
    for mv in multiview:
        image_ids = {f"cam{int(im['cam_id'])}": int(im["id"]) for im in mv["images"]}
        people = []
        labelled = set()
        for a in people_3d.get(mv["id"], []):
            points = np.asarray(a["keypoints3D"], dtype=np.float64).reshape(-1, 4)[:, :3]
            joints = points[: len(joint_names)] / _MM_PER_M
            joints[placeholder_mask(points)[: len(joint_names)]] = np.nan
            pid = int(a["person_id"])
            keypoints = {
                name: np.asarray(b["keypoints"], dtype=np.float64).reshape(-1, 3)
                for name, image_id in image_ids.items()
                for b in by_image[image_id]
                if int(b["person_id"]) == pid and not b.get("only_bbox", 0)
            }
            people.append(MvorPerson(pid, cam1.to_world(joints), tuple(keypoints), keypoints))
            labelled.add(pid)
        unlabelled = {}
        for name, image_id in image_ids.items():
            boxes = [b["bbox"] for b in by_image[image_id] if int(b["person_id"]) not in labelled]
            xywh = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            unlabelled[name] = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        frames.append(
            MvorFrame(
                str(mv["id"]),
                image_ids,
                tuple(people),
                {name: tuple(detections.get(image_id, ())) for name, image_id in image_ids.items()},
                unlabelled,
            )
        )
    log.info("MVOR %s: %d frames, %d people", path, len(frames), sum(len(f.people) for f in frames))
    return MvorDataset(calibration, joint_names, tuple(frames))
