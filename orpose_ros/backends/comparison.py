"""Outputs of two pipelines on the same frames, as plain arrays, and how far apart they are (no torch).

Used by the export's verification, the benchmark and the tests: persons are matched one to one by
box IoU, and the largest deviation of each quantity over matched persons is reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orpose_ros.poses import FramePoses

#: The issue-15 equality of an exported model with detectron2 eager (both FP32): the same people,
#: boxes and 2D keypoints within 0.01 px, 3D joints within 0.01 mm.
EXPORT_TOLERANCE = {
    "box_px": 0.01,
    "score": 1e-4,
    "keypoint_xy_px": 0.01,
    "keypoint_score": 1e-3,
    "joint_3d_m": 1e-5,
}


@dataclass(frozen=True)
class FrameArrays:
    """All detections of one frame, best first, in source-frame pixels.

    Attributes:
        boxes: (R, 4) x1, y1, x2, y2 [px].
        scores: (R,) person scores.
        keypoints: (R, 17, 3) x, y [px], score (0..1, heatmap softmax at the peak); COCO order.
        joints_3d: (R, 17, 3) x, y, z [m], pelvis-relative.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    joints_3d: np.ndarray

    @classmethod
    def from_frame_poses(cls, poses: FramePoses) -> FrameArrays:
        """From `OrPosePredictor` results (persons are already best first)."""
        persons = poses.persons
        return cls(
            boxes=np.array([p.bbox for p in persons], np.float32).reshape(-1, 4),
            scores=np.array([p.score for p in persons], np.float32),
            keypoints=np.array([p.keypoints_2d for p in persons], np.float32).reshape(-1, 17, 3),
            joints_3d=np.array([p.keypoints_3d for p in persons], np.float32).reshape(-1, 17, 3),
        )


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) box with (M, 4) boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def match_detections(ref: FrameArrays, test: FrameArrays, min_iou: float = 0.5) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, best reference score first, by largest box IoU (>= ``min_iou``)."""
    free = np.ones(len(test.scores), bool)
    pairs = []
    for i in range(len(ref.scores)):
        if not free.any():
            break
        ious = np.where(free, _iou(ref.boxes[i], test.boxes), -1.0)
        j = int(np.argmax(ious))
        if ious[j] >= min_iou:
            pairs.append((i, j))
            free[j] = False
    return pairs


def compare_outputs(
    reference: Sequence[FrameArrays], tested: Sequence[FrameArrays], tolerance: dict[str, float] | None = None
) -> dict:
    """Deviation of ``tested`` from ``reference``, frame by frame.

    Returns:
        A JSON-ready dict: ``frames``, ``persons_reference``, ``persons_tested``, ``unmatched``
        (detections without a partner on either side), ``same_order`` (pairs are the i-th with the
        i-th in every frame), ``max_abs`` (largest deviation per quantity over matched persons:
        box_px, score, keypoint_xy_px, keypoint_score, joint_3d_m), ``keypoints_off_by_1px`` (matched
        keypoints more than 1 px apart, e.g. a heatmap peak that moved), and, when ``tolerance`` is
        given, ``tolerance`` and ``within_tolerance``.
    """
    if len(reference) != len(tested):
        raise ValueError(f"{len(reference)} reference frames but {len(tested)} tested frames")
    max_abs = dict.fromkeys(("box_px", "score", "keypoint_xy_px", "keypoint_score", "joint_3d_m"), 0.0)
    unmatched = off_by_px = 0
    same_order = True
    for ref, test in zip(reference, tested, strict=True):
        pairs = match_detections(ref, test)
        unmatched += len(ref.scores) + len(test.scores) - 2 * len(pairs)
        same_order &= all(i == j for i, j in pairs)
        for i, j in pairs:
            kp_xy = np.abs(ref.keypoints[i, :, :2] - test.keypoints[j, :, :2])
            deviations = {
                "box_px": np.abs(ref.boxes[i] - test.boxes[j]).max(),
                "score": abs(float(ref.scores[i]) - float(test.scores[j])),
                "keypoint_xy_px": kp_xy.max(),
                "keypoint_score": np.abs(ref.keypoints[i, :, 2] - test.keypoints[j, :, 2]).max(),
                "joint_3d_m": np.abs(ref.joints_3d[i] - test.joints_3d[j]).max(),
            }
            for key, value in deviations.items():
                max_abs[key] = max(max_abs[key], float(value))
            off_by_px += int((kp_xy.max(axis=1) > 1.0).sum())
    result = {
        "frames": len(reference),
        "persons_reference": int(sum(len(r.scores) for r in reference)),
        "persons_tested": int(sum(len(t.scores) for t in tested)),
        "unmatched": unmatched,
        "same_order": bool(same_order),
        "max_abs": max_abs,
        "keypoints_off_by_1px": off_by_px,
    }
    if tolerance is not None:
        result["tolerance"] = dict(tolerance)
        result["within_tolerance"] = bool(
            unmatched == 0 and all(max_abs[k] <= tolerance[k] for k in tolerance if not math.isnan(max_abs[k]))
        )
    return result
