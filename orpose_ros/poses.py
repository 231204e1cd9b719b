"""Plain results of the model: what one camera frame contains, free of ROS and torch types."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DetectedPerson:
    """One detected person.

    Attributes:
        score: detection score of the person box, 0..1.
        bbox: (4,) float32 x1, y1, x2, y2 in source-image pixels.
        keypoints_2d: (17, 3) float32 x, y [px], score; COCO-17 order.
        keypoints_3d: (17, 3) float32 x, y, z [m], pelvis-relative, camera-aligned axes
            (x right, y down, z forward); Human3.6M-17 order.
    """

    score: float
    bbox: np.ndarray
    keypoints_2d: np.ndarray
    keypoints_3d: np.ndarray


@dataclass(frozen=True)
class FramePoses:
    """All people found in one frame, in decreasing score.

    Attributes:
        width, height: size of the source frame [px]; all 2D coordinates refer to it.
        downsample_factor: privacy factor the frame went through (1 = none).
        persons: the detections above the score threshold.
        model_view: (H, W, 3) uint8 BGR frame the model saw (the shrunk-and-restored frame in
            privacy mode), at the source size; only filled when asked for (debug drawing).
    """

    width: int
    height: int
    downsample_factor: int
    persons: tuple[DetectedPerson, ...] = ()
    model_view: np.ndarray | None = field(default=None, repr=False, compare=False)
