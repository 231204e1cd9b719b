"""Pinhole camera maths for placing pelvis-relative 3D skeletons in the camera frame.

Frames follow the ROS optical convention, which is also the model's 3D axes:
x right, y down, z forward (metres), image origin at the top-left corner (pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels for an image of ``width`` x ``height``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_horizontal_fov(cls, width: int, height: int, hfov_deg: float) -> Intrinsics:
        """Nominal camera: square pixels, principal point at the centre, given horizontal FOV."""
        if not 0.0 < hfov_deg < 180.0:
            raise ValueError(f"horizontal field of view must be in (0, 180) degrees, got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0, width, height)

    @classmethod
    def from_k(cls, k: np.ndarray | list[float], width: int, height: int) -> Intrinsics:
        """From a row-major 3x3 camera matrix K (as in sensor_msgs/CameraInfo)."""
        k = np.asarray(k, dtype=float).reshape(3, 3)
        if k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError("camera matrix has no positive focal length (uncalibrated camera?)")
        return cls(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), width, height)

    def scaled_to(self, width: int, height: int) -> Intrinsics:
        """The same camera seen at another resolution (e.g. camera_info at full size, image binned)."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)

    def back_project(self, u: float, v: float, depth: float) -> np.ndarray:
        """(3,) point [m] at ``depth`` along the ray through pixel (u, v)."""
        return np.array([(u - self.cx) / self.fx * depth, (v - self.cy) / self.fy * depth, depth])
