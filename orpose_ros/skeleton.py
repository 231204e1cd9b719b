"""Joint orders, names and skeleton edges of the two layouts the model outputs.

2D keypoints are in COCO-17 order; 3D joints in the Human3.6M-17 order of ORPose's lifting
network. The same orders are published as constants in ``orpose_msgs/msg/PersonPose.msg``.
"""

from __future__ import annotations

import colorsys
from typing import TypeVar

ArrayT = TypeVar("ArrayT")  # numpy arrays and torch tensors alike

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

H36M_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_nose", "head",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip

NUM_KEYPOINTS = 17
COCO_LEFT_HIP, COCO_RIGHT_HIP = 11, 12

#: Colours by body side, RGB in 0..1, for every drawing of a skeleton (debug image, RViz markers).
SIDE_COLOURS: dict[str, tuple[float, float, float]] = {
    "left": (0.1, 0.6, 1.0),  # blue
    "right": (1.0, 0.45, 0.1),  # orange
    "centre": (0.2, 0.9, 0.3),  # green
}

COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip

H36M_SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
    (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip


def side_of(name: str) -> str:
    """'left', 'right' or 'centre' for a joint name: used to colour skeletons consistently."""
    if name.startswith("left_"):
        return "left"
    if name.startswith("right_"):
        return "right"
    return "centre"


def bone_side(names: tuple[str, ...], edge: tuple[int, int]) -> str:
    """Side of a bone: the side its joints share, else 'centre'."""
    a, b = (side_of(names[i]) for i in edge)
    return a if a == b else "centre"


def coco_pelvis(keypoints: ArrayT) -> ArrayT:
    """(..., 17, C) COCO-17 keypoints -> (..., C) the pelvis as ORPose defines it: the mean of the
    two hips, every column averaged (numpy arrays or torch tensors)."""
    return (keypoints[..., COCO_LEFT_HIP, :] + keypoints[..., COCO_RIGHT_HIP, :]) / 2.0


#: Row i of ORPose's Human3.6M layout takes this COCO-17 row before the overwrites of `coco_to_h36m`.
COCO_TO_H36M_ROWS: tuple[int, ...] = (0, 12, 14, 16, 11, 13, 15, 0, 0, 0, 0, 5, 7, 9, 6, 8, 10)
#: H36M rows (in this layout) that the lifting network sees: all but row 8 (neck).
LIFTING_INPUT_ROWS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16)

_L_EAR, _R_EAR, _L_SHOULDER, _R_SHOULDER = 3, 4, 5, 6  # COCO rows
_PELVIS, _SPINE, _NECK, _HEAD, _HEAD_TOP = 0, 7, 8, 9, 10  # rows of the H36M layout


def coco_to_h36m(kpts: ArrayT) -> ArrayT:
    """Re-arrange COCO-17 keypoints into ORPose's 17-row Human3.6M-style layout (the lifting's input).

    Row i takes COCO row ``COCO_TO_H36M_ROWS[i]``; then row 0 (pelvis) = mean of COCO 11 and 12,
    row 8 (neck) = mean of COCO 5 and 6, row 7 = mean of the new rows 0 and 8, rows 9 and 10 =
    mean of COCO 3 and 4. Whole rows (every column: x, y and score) are averaged; visibility is
    not looked at, exactly as the published model does.

    Args:
        kpts: (..., 17, C) COCO-17 keypoints, typically C = 3 (x, y, score), torch or numpy.

    Returns:
        (..., 17, C) a new array of the same type and dtype; the input is not modified.
    """
    if kpts.shape[-2] != NUM_KEYPOINTS:
        raise ValueError(f"expected (..., 17, C) COCO keypoints, got shape {tuple(kpts.shape)}")
    out = kpts[..., list(COCO_TO_H36M_ROWS), :]  # advanced indexing: a copy
    out[..., _PELVIS, :] = coco_pelvis(kpts)
    out[..., _NECK, :] = (kpts[..., _L_SHOULDER, :] + kpts[..., _R_SHOULDER, :]) / 2.0
    out[..., _SPINE, :] = (out[..., _PELVIS, :] + out[..., _NECK, :]) / 2.0
    head = (kpts[..., _L_EAR, :] + kpts[..., _R_EAR, :]) / 2.0
    out[..., _HEAD, :] = head
    out[..., _HEAD_TOP, :] = head
    return out


def colour_bgr8(side: str) -> tuple[int, int, int]:
    """The colour of ``side`` as an OpenCV BGR 0..255 triple."""
    return rgb_to_bgr8(SIDE_COLOURS[side])


def rgb_to_bgr8(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    """An RGB 0..1 colour as an OpenCV BGR 0..255 triple."""
    r, g, b = (round(255 * c) for c in rgb)
    return b, g, r


def track_colour(track_id: int) -> tuple[float, float, float]:
    """The one colour of an identity, RGB 0..1, everywhere it is drawn (RViz markers, pictures): hues
    spread by the golden ratio, so that neighbouring ids differ; grey for 0 (not tracked). ``track_id``
    is the published id (`fusion.tracking.published_id`)."""
    if track_id <= 0:
        return 0.6, 0.6, 0.6
    return colorsys.hsv_to_rgb((track_id * 0.618033988749895) % 1.0, 0.75, 0.95)
