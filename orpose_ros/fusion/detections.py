"""The plain input of fusion: the people one camera detected in one frame.

Build them from any detector's results (ORPose through orpose-infer or the ROS node, OpenPose...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from orpose_ros.compiled import compiled
from orpose_ros.fusion.robust import median_in_place
from orpose_ros.skeleton import NUM_KEYPOINTS


@dataclass(frozen=True, eq=False)
class PersonDetection:
    """One person detected in one camera frame.

    Attributes:
        keypoints_2d: (17, 3) float64 COCO-17 keypoints x, y [px of the camera's image], score (0 = not found).
        score: detection score, 0..1.
        keypoints_3d: (17, 3) float64 pelvis-relative Human3.6M-17 joints [m] in camera axes (x right, y down,
            z forward), or None for 2D-only detectors.
        index: position of the detection in its frame's results (reported back with the fused people).
    """

    keypoints_2d: np.ndarray
    score: float = 1.0
    keypoints_3d: np.ndarray | None = None
    index: int = -1

    def __post_init__(self) -> None:
        try:
            kp = np.array(self.keypoints_2d, dtype=np.float64)
            kp3 = None if self.keypoints_3d is None else np.array(self.keypoints_3d, dtype=np.float64)
            score = float(self.score)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"detection {self.index}: keypoints and score must be numbers ({exc})") from None
        if kp.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(f"detection {self.index}: keypoints_2d must be (17, 3) x, y, score, got {kp.shape}")
        if kp3 is not None and kp3.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(f"detection {self.index}: keypoints_3d must be (17, 3) x, y, z, got {kp3.shape}")
        kp.setflags(write=False)
        if kp3 is not None:
            kp3.setflags(write=False)
        object.__setattr__(self, "keypoints_2d", kp)
        object.__setattr__(self, "keypoints_3d", kp3)
        object.__setattr__(self, "score", score)


#: Detections of one synchronised frame: camera name -> that camera's people.
FrameDetections = Mapping[str, Sequence[PersonDetection]]

#: Keypoints may lie outside their image (a limb beyond its edge) by up to this many image sizes.
IMAGE_MARGIN = 1.0
#: The largest plausible coordinate of a pelvis-relative 3D skeleton [m] (a body is about 2 m).
MAX_SKELETON_M = 10.0

NON_FINITE = "non-finite values"
OUTSIDE_IMAGE = "keypoints far outside the image"
SCORE_RANGE = "scores outside 0..1"
SKELETON = "implausible 3D skeleton"


def implausibility(detection: PersonDetection, width: int, height: int) -> tuple[str, str] | None:
    """Why ``detection`` of an image of ``width`` x ``height`` [px] cannot be a person: (cause, detail),
    or None when it is plausible.

    Plausible: finite 2D keypoints within `IMAGE_MARGIN` image sizes beyond each edge of the image
    (x in [-width, 2 width], y in [-height, 2 height] px), keypoint and detection scores in 0..1, and a
    3D skeleton that is absent (all NaN allowed) or finite within `MAX_SKELETON_M` of the pelvis.
    """
    kp, score = detection.keypoints_2d, detection.score
    if not (np.isfinite(kp).all() and np.isfinite(score)):
        return NON_FINITE, f"person {detection.index}: non-finite keypoints or score"
    xy_min = -IMAGE_MARGIN * np.array([width, height])
    xy_max = (1.0 + IMAGE_MARGIN) * np.array([width, height])
    if ((kp[:, :2] < xy_min) | (kp[:, :2] > xy_max)).any():
        return OUTSIDE_IMAGE, (f"person {detection.index}: keypoints beyond x in [{xy_min[0]:g}, {xy_max[0]:g}], "
                               f"y in [{xy_min[1]:g}, {xy_max[1]:g}] px (image {width}x{height})")
    if not (0.0 <= score <= 1.0 and ((kp[:, 2] >= 0.0) & (kp[:, 2] <= 1.0)).all()):
        return SCORE_RANGE, f"person {detection.index}: detection or keypoint scores outside 0..1"
    kp3 = detection.keypoints_3d
    if kp3 is not None and not np.isnan(kp3).all() and not (np.isfinite(kp3).all()
                                                             and np.abs(kp3).max() <= MAX_SKELETON_M):
        return SKELETON, f"person {detection.index}: 3D skeleton not finite or beyond {MAX_SKELETON_M:g} m"
    return None


def stack_keypoints(detections: Sequence[PersonDetection]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 17, 3) 2D keypoints and (N, 17, 3) 3D skeletons (rows of NaN where absent) of N detections."""
    if not detections:
        return np.zeros((0, NUM_KEYPOINTS, 3)), np.zeros((0, NUM_KEYPOINTS, 3))
    kp2 = np.stack([d.keypoints_2d for d in detections])
    kp3 = np.stack([d.keypoints_3d if d.keypoints_3d is not None else np.full((NUM_KEYPOINTS, 3), np.nan)
                    for d in detections])  # fmt: skip
    return kp2, kp3


def duplicate_mask(
    keypoints_2d: np.ndarray, scores: np.ndarray, min_joint_score: float, max_offset: float = 0.05
) -> np.ndarray:
    """(N,) True for detections that repeat a higher-scoring detection of the same image (pose NMS).

    Two detections show the same person when they share >= 2 confident keypoints (finite, scoring at least
    ``min_joint_score``) and the median distance between those is at most ``max_offset`` times the size
    (keypoint-box diagonal) of the larger one: about the keypoint noise of one person (OKS uses similar scales).

    Args:
        keypoints_2d: (N, 17, 3) x, y [px], score; scores: (N,) detection scores.
    """
    return duplicate_masks([keypoints_2d], [scores], min_joint_score, max_offset)[0]


def duplicate_masks(
    keypoints_2d: Sequence[np.ndarray], scores: Sequence[np.ndarray], min_joint_score: float, max_offset: float = 0.05
) -> list[np.ndarray]:
    """`duplicate_mask` of the detections of several images (per image (N_i, 17, 3) keypoints and (N_i,)
    scores) in one batch: detections are only compared with those of their own image (compiled loops: a frame
    has a few dozen pairs, too few for array operations to pay their per-call cost)."""
    sizes = [len(k) for k in keypoints_2d]
    if max(sizes, default=0) < 2:
        return [np.zeros(n, dtype=bool) for n in sizes]
    kp = np.concatenate([np.asarray(k, dtype=np.float64).reshape(-1, NUM_KEYPOINTS, 3) for k in keypoints_2d])
    image = np.repeat(np.arange(len(sizes)), sizes)  # each detection's image
    all_scores = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1) for s in scores])
    duplicate = _duplicates(kp, image, np.argsort(-all_scores, kind="stable"), max(min_joint_score, 1e-9),
                            float(max_offset))
    starts = np.cumsum([0, *sizes[:-1]])  # each image's first detection in the batch
    return np.split(duplicate, starts[1:])


def _confident(kp: np.ndarray, j: int, min_score: float) -> bool:
    """Whether keypoint j of (17, 3) ``kp`` is finite and scores at least ``min_score``."""
    return kp[j, 2] >= min_score and np.isfinite(kp[j, 0]) and np.isfinite(kp[j, 1])


def _keypoint_box_diagonal(kp: np.ndarray, min_score: float) -> float:
    """Diagonal [px] of the box around the `_confident` keypoints of (17, 3) ``kp``; 0 with none."""
    x_min = y_min = np.inf
    x_max = y_max = -np.inf
    for j in range(kp.shape[0]):
        if _confident(kp, j, min_score):
            x_min, x_max = min(x_min, kp[j, 0]), max(x_max, kp[j, 0])
            y_min, y_max = min(y_min, kp[j, 1]), max(y_max, kp[j, 1])
    if x_max < x_min:
        return 0.0
    return np.hypot(x_max - x_min, y_max - y_min)


def _same_person(kp_a: np.ndarray, kp_b: np.ndarray, min_score: float, max_distance: float,
                 distances: np.ndarray) -> bool:
    """Whether two detections (17, 3) share >= 2 `_confident` keypoints with a median distance [px] of at most
    ``max_distance``; ``distances`` (17,) scratch."""
    count = 0
    for j in range(kp_a.shape[0]):
        if _confident(kp_a, j, min_score) and _confident(kp_b, j, min_score):
            distances[count] = np.sqrt((kp_a[j, 0] - kp_b[j, 0]) ** 2 + (kp_a[j, 1] - kp_b[j, 1]) ** 2)
            count += 1
    return count >= 2 and median_in_place(distances, count) <= max_distance


def _duplicates(kp: np.ndarray, image: np.ndarray, order: np.ndarray, min_score: float,
                max_offset: float) -> np.ndarray:
    """(N,) pose NMS of N detections (N, 17, 3) of the images ``image`` (N,): in ``order`` (N,) (best score
    first), each detection not yet a duplicate makes duplicates of the others of its image that show the same
    person (`_same_person` within ``max_offset`` times the larger keypoint-box diagonal)."""
    N = kp.shape[0]
    size = np.empty(N)
    for n in range(N):
        size[n] = _keypoint_box_diagonal(kp[n], min_score)
    duplicate = np.zeros(N, dtype=np.bool_)
    distances = np.empty(kp.shape[1])
    for i in order:
        if duplicate[i]:
            continue
        for n in range(N):
            if n != i and image[n] == image[i] and not duplicate[n] and _same_person(
                    kp[i], kp[n], min_score, max_offset * max(size[i], size[n]), distances):
                duplicate[n] = True
    return duplicate


_confident = compiled(_confident)
_keypoint_box_diagonal = compiled(_keypoint_box_diagonal)
_same_person = compiled(_same_person)
_duplicates = compiled(_duplicates)
