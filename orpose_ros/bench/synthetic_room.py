"""A synthetic calibrated room with people and detector-like detections, for benchmarks and demos.

Cameras hang on a circle under the ceiling and look at the room's centre; people are the upright
anthropometric template (`geometry.body_model.standing_template_coco`) standing on the floor z = 0, turned
about z. Detections are their projections with pixel noise, keypoints missed at random, left/right swaps of
a limb and false detections: what a 2D detector gives, with known truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.geometry.body_model import pelvis_height_m, standing_template_coco
from orpose_ros.geometry.calibration import FloorPlane, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

_LEFT = np.array([i for i, n in enumerate(COCO_KEYPOINT_NAMES) if n.startswith("left_")])
_RIGHT = np.array([COCO_KEYPOINT_NAMES.index(COCO_KEYPOINT_NAMES[i].replace("left_", "right_")) for i in _LEFT])


def _look_at(centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4, 4) T_world_from_camera of an optical frame at ``centre`` [m] looking at ``target`` (world z up)."""
    z = target - centre
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x = x / np.linalg.norm(x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    T[:3, 3] = centre
    return T


def ring_room(num_cameras: int, radius_m: float = 3.0, height_m: float = 2.6, width: int = 640,
              height: int = 480) -> RoomCalibration:
    """``num_cameras`` cameras evenly on a circle of ``radius_m`` at ``height_m`` [m], looking at (0, 0, 1 m);
    a 640x480-like image with a 65 degree horizontal field of view; the floor z = 0."""
    f = 0.5 * width / np.tan(np.radians(65.0) / 2)
    K = np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])
    cameras = []
    for k in range(num_cameras):
        angle = 2.0 * np.pi * k / num_cameras + 0.3
        centre = np.array([radius_m * np.cos(angle), radius_m * np.sin(angle), height_m])
        cameras.append(PinholeCamera(f"cam{k + 1}", width, height, K,
                                     T_world_from_camera=_look_at(centre, np.array([0.0, 0.0, 1.0]))))
    return RoomCalibration("room", tuple(cameras), FloorPlane.horizontal(0.0))


def standing_people(positions_xy: np.ndarray, headings_rad: np.ndarray, stature_m: float = 1.72) -> np.ndarray:
    """(N, 17, 3) COCO-17 joints [m, world] of N upright people at ``positions_xy`` (N, 2) [m] turned by
    ``headings_rad`` (N,) about z, standing on z = 0."""
    body = standing_template_coco(stature_m)
    rotations = Rotation.from_euler("z", np.asarray(headings_rad, dtype=np.float64)[:, None]).as_matrix()  # (N, 3, 3)
    joints = np.einsum("nij,kj->nki", rotations, body)
    offset = np.concatenate([np.asarray(positions_xy, dtype=np.float64),
                             np.full((len(rotations), 1), pelvis_height_m(stature_m))], axis=1)
    return joints + offset[:, None, :]


@dataclass(frozen=True)
class DetectorNoise:
    """What the synthetic detector gets wrong.

    Attributes:
        pixel_noise_px: keypoint position noise (standard deviation) [px].
        miss_probability: a keypoint is not found (score 0) with this probability.
        swap_probability: a detection has its left and right keypoints swapped with this probability.
        false_per_camera: false detections per camera and frame (a body projected at a random place).
    """

    pixel_noise_px: float = 2.0
    miss_probability: float = 0.1
    swap_probability: float = 0.05
    false_per_camera: float = 0.2


def detections(calibration: RoomCalibration, joints_world: np.ndarray, rng: np.random.Generator,
               noise: DetectorNoise | None = None) -> dict[str, list[PersonDetection]]:
    """Per camera, the detections of the people ``joints_world`` (N, 17, 3) [m] that fall in its
    image, with ``noise``; false detections are appended after the real ones."""
    noise = noise or DetectorNoise()
    out: dict[str, list[PersonDetection]] = {}
    for camera in calibration.complete_cameras():
        bodies = list(joints_world)
        for _ in range(rng.poisson(noise.false_per_camera)):
            bodies.append(standing_people(rng.uniform(-2.0, 2.0, (1, 2)), rng.uniform(0, 2 * np.pi, 1))[0])
        people = []
        for body in bodies:
            uv = camera.project(body)
            inside = (np.isfinite(uv).all(axis=1) & (uv[:, 0] >= 0) & (uv[:, 0] < camera.width)
                      & (uv[:, 1] >= 0) & (uv[:, 1] < camera.height))  # fmt: skip
            if inside.sum() < 6:
                continue
            score = np.where(inside & (rng.random(17) >= noise.miss_probability), rng.uniform(0.5, 0.95, 17), 0.0)
            keypoints = np.concatenate([np.nan_to_num(uv) + rng.normal(0.0, noise.pixel_noise_px, (17, 2)),
                                        score[:, None]], axis=1)
            keypoints[score == 0] = 0.0
            if rng.random() < noise.swap_probability:
                keypoints[_LEFT], keypoints[_RIGHT] = keypoints[_RIGHT].copy(), keypoints[_LEFT].copy()
            people.append(PersonDetection(keypoints, float(score[score > 0].mean()), None, len(people)))
        out[camera.name] = people
    return out
