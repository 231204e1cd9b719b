"""Drawing of detected people on BGR images: boxes, scores and 2D COCO-17 skeletons.

Pure numpy/OpenCV, free of ROS and torch: takes an image and results, returns a new image.
Line widths scale with the image so that the same call reads well on a 53x40 privacy frame and
on a 1920x1080 camera frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from orpose_ros.poses import DetectedPerson, FramePoses
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, COCO_SKELETON, bone_side, colour_bgr8, side_of

# The box colour is neutral so that skeleton sides (skeleton.SIDE_COLOURS) stay readable.
BOX_COLOUR: tuple[int, int, int] = (0, 230, 230)  # yellow
TEXT_COLOUR: tuple[int, int, int] = (0, 0, 0)

# detectron2's Visualizer hides keypoints below this score; the same default here.
DEFAULT_KEYPOINT_THRESHOLD = 0.05

# Fixed-point bits for cv2 drawing calls: keypoints keep sub-pixel precision on tiny images.
_SHIFT = 4
_ONE = 1 << _SHIFT
# Coordinates are clipped to this range [px] so that wild values cannot overflow cv2's int32.
_FAR = 1.0e6


def line_thickness(height: int, width: int) -> int:
    """Line thickness [px] for an image of this size: 1 below ~400 px short side, 2 at 480, 4 at 1080."""
    return max(1, round(min(height, width) / 270))


def draw_poses(
    image_bgr: np.ndarray,
    poses: FramePoses | Sequence[DetectedPerson],
    *,
    keypoint_threshold: float = DEFAULT_KEYPOINT_THRESHOLD,
    draw_boxes: bool = True,
    draw_scores: bool = True,
    in_place: bool = False,
) -> np.ndarray:
    """Draw people on a BGR image.

    Args:
        image_bgr: (H, W, 3) uint8 BGR image; the coordinates of ``poses`` are in its pixels.
        poses: a frame's results or a sequence of people.
        keypoint_threshold: joints whose 2D score is below this value (or not finite) are not
            drawn, nor are the bones touching them; the results themselves are untouched.
        draw_boxes: draw each person's box.
        draw_scores: write each person's detection score above its box (only with boxes).
        in_place: draw into ``image_bgr`` itself instead of a copy.

    Returns:
        The drawn image: a new array unless ``in_place``, then ``image_bgr`` itself.

    Raises:
        ValueError: the image is not (H, W, 3) uint8, or ``in_place`` is asked for an array
            OpenCV cannot draw into (not C-contiguous or read-only).
    """
    _check_image(image_bgr, in_place)
    canvas = image_bgr if in_place else image_bgr.copy()
    persons = poses.persons if isinstance(poses, FramePoses) else tuple(poses)
    thickness = line_thickness(*canvas.shape[:2])
    for person in persons:
        if draw_boxes:
            _draw_box(canvas, person, thickness, draw_scores)
        _draw_skeleton(canvas, person.keypoints_2d, thickness, keypoint_threshold)
    return canvas


def _check_image(image: np.ndarray, in_place: bool) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"expected an (H, W, 3) uint8 BGR image, got shape {shape} dtype {dtype}")
    if in_place and (not image.flags.c_contiguous or not image.flags.writeable):
        raise ValueError("in_place drawing needs a writable C-contiguous image")


def _fixed(x: float, y: float) -> tuple[int, int]:
    """Pixel coordinates as cv2 fixed-point integers (see ``_SHIFT``), clipped to +-``_FAR``."""
    return round(float(np.clip(x, -_FAR, _FAR)) * _ONE), round(float(np.clip(y, -_FAR, _FAR)) * _ONE)


def _draw_box(canvas: np.ndarray, person: DetectedPerson, thickness: int, with_score: bool) -> None:
    box = np.asarray(person.bbox, dtype=np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        return
    x1, y1, x2, y2 = box
    cv2.rectangle(canvas, _fixed(x1, y1), _fixed(x2, y2), BOX_COLOUR, thickness, cv2.LINE_AA, _SHIFT)
    if with_score:
        _draw_label(canvas, f"{person.score:.2f}", (x1, y1), thickness)


def _draw_label(canvas: np.ndarray, text: str, corner: tuple[float, float], thickness: int) -> None:
    """Text on a filled box, just above ``corner`` (x, y) or just inside the image when no room."""
    scale, weight = 0.4 * thickness, max(1, thickness // 2)
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
    height, width = canvas.shape[:2]
    if 8 * (th + baseline) > height or 4 * tw > width:
        return  # the label would hide the person on so small an image
    x = int(np.clip(corner[0], 0, width - tw))
    y = int(np.clip(corner[1] - baseline, th, height - baseline))
    cv2.rectangle(canvas, (x, y - th), (x + tw, y + baseline), BOX_COLOUR, cv2.FILLED)
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_COLOUR, weight, cv2.LINE_AA)


def _draw_skeleton(canvas: np.ndarray, keypoints: np.ndarray, thickness: int, threshold: float) -> None:
    """Bones, then joints, of one (17, 3) x, y, score COCO-17 keypoint array."""
    kps = np.asarray(keypoints, dtype=np.float64)
    if kps.shape != (len(COCO_KEYPOINT_NAMES), 3):
        raise ValueError(f"keypoints_2d must be (17, 3), got {kps.shape}")
    visible = np.all(np.isfinite(kps), axis=1) & (kps[:, 2] >= threshold)
    for edge in COCO_SKELETON:
        a, b = edge
        if visible[a] and visible[b]:
            colour = colour_bgr8(bone_side(COCO_KEYPOINT_NAMES, edge))
            pa, pb = _fixed(*kps[a, :2]), _fixed(*kps[b, :2])
            cv2.line(canvas, pa, pb, colour, thickness, cv2.LINE_AA, _SHIFT)
    radius = (thickness + 1 if thickness > 1 else 1) * _ONE
    for i in np.flatnonzero(visible):
        colour = colour_bgr8(side_of(COCO_KEYPOINT_NAMES[i]))
        cv2.circle(canvas, _fixed(*kps[i, :2]), radius, colour, cv2.FILLED, cv2.LINE_AA, _SHIFT)
