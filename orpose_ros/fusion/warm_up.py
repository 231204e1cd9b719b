"""Compiling the fusion's loops (`orpose_ros.compiled`) before the first real frame.

`compile_kernels` fuses one made-up frame of two cameras that takes every compiled path of `fuse_frame`: pose
NMS (a repeated detection), association, triangulation (a person both cameras see), single-camera placement and
the single-camera duplicate test (a person only one camera sees). The first time on a machine this compiles
(several seconds); afterwards it loads numba's disk cache (a fraction of a second). Nodes call it at start-up so
that their first frame does not wait for the compiler.
"""

from __future__ import annotations

import time

import numpy as np

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import FusionOptions, fuse_frame
from orpose_ros.geometry.body_model import pelvis_height_m, standing_template_coco
from orpose_ros.geometry.calibration import FloorPlane, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera

#: Optical frames looking horizontally along the world's +y axis (x right, y down = world -z, z forward).
_LOOKING_ALONG_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def _camera(name: str, centre_world: tuple[float, float, float]) -> PinholeCamera:
    """A 640x480 camera (focal length 500 px) at ``centre_world`` [m], looking along +y."""
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = _LOOKING_ALONG_Y, centre_world
    K = np.array([[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]])
    return PinholeCamera(name, 640, 480, K, T_world_from_camera=T)


def _detection(camera: PinholeCamera, at_xy_m: tuple[float, float], score: float, index: int) -> PersonDetection:
    """The exact keypoints in ``camera`` of the standing template at ``at_xy_m`` on the floor z = 0."""
    joints = standing_template_coco() + np.array([*at_xy_m, pelvis_height_m()])
    keypoints = np.concatenate([camera.project(joints), np.full((17, 1), 0.9)], axis=1)
    return PersonDetection(keypoints, score, None, index)


def warm_up_frame() -> tuple[RoomCalibration, dict[str, list[PersonDetection]]]:
    """The made-up frame: two cameras 1 m apart, a person 4 m in front of both (seen by both, and twice by the
    first), and a person seen by the first only."""
    first, second = _camera("warm_up_1", (0.0, 0.0, 1.5)), _camera("warm_up_2", (1.0, 0.0, 1.5))
    calibration = RoomCalibration("warm_up", (first, second), FloorPlane.horizontal(0.0))
    both, repeated = _detection(first, (0.5, 4.0), 0.9, 0), _detection(first, (0.5, 4.0), 0.8, 1)
    alone = _detection(first, (-1.2, 4.0), 0.9, 2)
    return calibration, {first.name: [both, repeated, alone], second.name: [_detection(second, (0.5, 4.0), 0.9, 0)]}


def compile_kernels(options: FusionOptions | None = None) -> float:
    """Compiles (or loads from the disk cache) every loop `fuse_frame` runs with ``options``, by fusing
    `warm_up_frame`; returns the seconds it took."""
    start = time.perf_counter()
    calibration, frame = warm_up_frame()
    fuse_frame(calibration, frame, options)
    return time.perf_counter() - start
