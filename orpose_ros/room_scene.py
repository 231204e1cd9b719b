"""A synthetic room for demos without weights: people who walk, turn, pass each other and hide each other,
seen by a calibration's cameras as a pose detector would report them.

Everything is a function of time (seconds, e.g. a message stamp), so any process can recompute what the
room held at a stamp. The world frame is the calibration's, z up (REP 103), the floor at z = 0 unless the
calibration's floor is another horizontal plane. Detections are what ORPose outputs per camera
(`FramePoses`): COCO-17 keypoints [px] with scores, a box, and the Human3.6M-17 skeleton [m] pelvis-relative
in camera axes; with pixel noise, occluded keypoints scored low, and whole people missed now and then.
(`synthetic_scene` draws camera *images* instead, for the model.)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.transform import Rotation

from orpose_ros.geometry.body_model import standing_template_coco, standing_template_h36m
from orpose_ros.geometry.calibration import RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import DetectedPerson, FramePoses
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, H36M_JOINT_NAMES

#: Radius of the vertical cylinder that stands for a body when deciding what it hides [m].
BODY_RADIUS_M = 0.22
#: Step frequency of the walking swing [Hz].
STEP_HZ = 0.9
#: Forward swing of joints while walking, at the left side's peak [m] (the right side swings opposite).
_SWING_M = {"left_ankle": 0.22, "left_knee": 0.11, "left_wrist": -0.16, "left_elbow": -0.07}
_STATURES_M = (1.80, 1.65, 1.72, 1.58, 1.85, 1.70)
#: How far apart [m, between body centres] the routes of `walkers_for` keep people (about: ellipses that are
#: not circles come a few centimetres closer).
PASSING_GAP_M = 0.75


def _swing(names: tuple[str, ...]) -> np.ndarray:
    """(17,) forward swing per joint at the left side's peak [m]."""
    swing = np.zeros(len(names))
    for i, name in enumerate(names):
        side, _, part = name.partition("_")
        amplitude = _SWING_M.get(f"left_{part}", 0.0) if side in ("left", "right") else 0.0
        swing[i] = amplitude if side == "left" else -amplitude
    return swing


_SWING_COCO, _SWING_H36M = _swing(COCO_KEYPOINT_NAMES), _swing(H36M_JOINT_NAMES)


@dataclass(frozen=True)
class Walker:
    """One person's route: an ellipse about ``centre`` (``direction`` +1 counter-clockwise, -1 clockwise) or,
    with one radius 0, back and forth along a line through ``centre`` along the other axis (turning at its ends).

    Attributes:
        centre: (2,) world x, y [m]; radii: (2,) half-axes along x and y [m]; speed_mps: walking speed [m/s];
        phase: where on the route the person is at t = 0, as a fraction of a lap; stature_m: height [m].
    """

    centre: tuple[float, float]
    radii: tuple[float, float]
    speed_mps: float
    direction: int = 1
    phase: float = 0.0
    stature_m: float = 1.72

    def position_heading(self, t_s: float) -> tuple[np.ndarray, float]:
        """((2,) x, y [m], heading [rad, world, 0 = +x]) at time ``t_s``."""
        a, b = self.radii
        cx, cy = self.centre
        if a == 0.0 or b == 0.0:  # a line of length 2r walked both ways, along x (b = 0) or y (a = 0): a lap is 4r
            r, axis = (a, 0) if b == 0.0 else (b, 1)
            u = (self.phase + self.speed_mps * t_s / (4.0 * r)) % 1.0
            xy = np.array([cx, cy])
            xy[axis] += r * (4.0 * u - 1.0 if u < 0.5 else 3.0 - 4.0 * u)
            ahead, back = (0.0, math.pi) if axis == 0 else (math.pi / 2, -math.pi / 2)  # towards +x (+y), back
            return xy, ahead if u < 0.5 else back
        lap = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))  # Ramanujan's perimeter
        angle = 2.0 * math.pi * (self.phase + self.direction * self.speed_mps * t_s / lap)
        velocity = self.direction * np.array([-a * math.sin(angle), b * math.cos(angle)])
        return np.array([cx + a * math.cos(angle), cy + b * math.sin(angle)]), math.atan2(velocity[1], velocity[0])

    def joints(self, t_s: float, floor_z: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """((17, 3) COCO-17, (17, 3) Human3.6M-17) joints [m, world] at time ``t_s``, walking."""
        xy, heading = self.position_heading(t_s)
        # body frame: x right, y forward, z up; forward turned onto the heading
        rotation = Rotation.from_euler("z", heading - math.pi / 2).as_matrix()
        swing = math.sin(2.0 * math.pi * STEP_HZ * t_s)
        pelvis = np.array([xy[0], xy[1], floor_z + 0.53 * self.stature_m])
        result = []
        for template, forward in ((standing_template_coco(self.stature_m), _SWING_COCO),
                                  (standing_template_h36m(self.stature_m), _SWING_H36M)):
            body = template.copy()
            body[:, 1] += swing * forward
            result.append(body @ rotation.T + pelvis)
        return result[0], result[1]


def walkers_for(calibration: RoomCalibration, count: int = 3) -> list[Walker]:
    """``count`` routes (1..6) laid out like a ring road in the room the calibration's cameras surround: two
    people circle its centre on concentric ellipses in opposite directions (they pass each other twice a lap),
    the others walk back and forth along straight aisles beside the outer ellipse, one per side, turning at
    their ends. Routes keep about `PASSING_GAP_M` apart, so people pass each other as people do (and hide each
    other from cameras) but never walk through each other."""
    if not 1 <= count <= len(_STATURES_M):
        raise ValueError(f"people: {count} is out of range; expected 1 to {len(_STATURES_M)}")
    corners = np.array([camera.T_world_from_camera[:2, 3] for camera in calibration.cameras])
    low, high = corners.min(axis=0), corners.max(axis=0)
    cx, cy = (float(v) for v in 0.5 * (low + high))
    half = np.maximum(0.5 * (high - low), 2.0)
    rx, ry = (float(v) for v in np.maximum(0.4 * half, 1.1))  # the outer ellipse
    gap = PASSING_GAP_M
    routes = [
        Walker((cx, cy), (rx, ry), 0.8, 1, 0.0),
        Walker((cx, cy), (rx - gap, ry - gap), 0.6, -1, 0.25),
        Walker((cx, cy - ry - gap), (rx, 0.0), 0.7, 1, 0.1),
        Walker((cx, cy + ry + gap), (rx, 0.0), 0.5, 1, 0.5),
        Walker((cx + rx + gap, cy), (0.0, ry), 0.4, 1, 0.6),
        Walker((cx - rx - gap, cy), (0.0, ry), 0.9, 1, 0.8),
    ]
    return [replace(walker, stature_m=stature) for walker, stature in zip(routes[:count], _STATURES_M, strict=False)]


def with_nominal_intrinsics(calibration: RoomCalibration, width: int = 640, height: int = 480,
                            horizontal_fov_deg: float = 60.0) -> RoomCalibration:
    """The calibration with nominal intrinsics (square pixels, centred, no distortion) for the cameras that
    wait for a camera_info; the others unchanged."""
    for name in calibration.pending_names:
        K = PinholeCamera.nominal(name, width, height, horizontal_fov_deg).K
        calibration = calibration.with_intrinsics(name, K, width, height)
    return calibration


def hidden_by_others(camera: PinholeCamera, joints: np.ndarray, statures_m: np.ndarray, floor_z: float) -> np.ndarray:
    """(P, 17) True where a joint of person p is hidden from ``camera`` by another person's body.

    A body is a vertical cylinder (radius `BODY_RADIUS_M`, from the floor to its stature) about its pelvis; a
    joint is hidden when the ray from the camera centre to it passes through another body before reaching it.

    Args:
        joints: (P, 17, 3) world joints [m]; statures_m: (P,) heights [m].
    """
    centre = camera.centre_world
    P = len(joints)
    hidden = np.zeros(joints.shape[:2], dtype=bool)
    for other in range(P):
        axis = joints[other].mean(axis=0)[:2]
        ray = joints - centre  # (P, 17, 3)
        # closest approach of each ray (parameter s in [0, 1] from camera to joint) to the other's vertical axis
        d_xy = ray[..., :2]
        s = np.clip(((axis - centre[:2]) * d_xy).sum(-1) / np.maximum((d_xy**2).sum(-1), 1e-12), 0.0, 1.0)
        closest = centre + s[..., None] * ray
        inside = np.linalg.norm(closest[..., :2] - axis, axis=-1) < BODY_RADIUS_M
        within_height = (closest[..., 2] > floor_z) & (closest[..., 2] < floor_z + statures_m[other])
        before = s < 0.97  # not the joint itself sitting inside that body
        mask = inside & within_height & before
        mask[other] = False
        hidden |= mask
    return hidden


@dataclass(frozen=True)
class DetectorNoise:
    """How far from perfect the synthetic detector is.

    Attributes:
        keypoint_px: standard deviation of the keypoint position noise [px at 640 px image width].
        miss_rate: probability that a visible person is not reported in a frame.
        min_keypoints: a person with fewer keypoints visible in the image is not reported.
    """

    keypoint_px: float = 2.0
    miss_rate: float = 0.05
    min_keypoints: int = 6


def detect(camera: PinholeCamera, joints_coco: np.ndarray, joints_h36m: np.ndarray, statures_m: np.ndarray,
           floor_z: float, noise: DetectorNoise, rng: np.random.Generator) -> FramePoses:
    """What a detector reports in ``camera``'s frame for P people with (P, 17, 3) world joints [m].

    Keypoints outside the image or behind the camera do not count as visible; hidden ones keep a noisy
    position with a score below 0.1, as detectors guess occluded joints.
    """
    depth = camera.to_camera(joints_coco)[..., 2]
    uv = camera.project(joints_coco)
    in_image = (depth > 0.1) & (uv[..., 0] >= 0) & (uv[..., 0] < camera.width) & (uv[..., 1] >= 0) & (
        uv[..., 1] < camera.height)
    visible = in_image & ~hidden_by_others(camera, joints_coco, statures_m, floor_z)
    R_camera_from_world = camera.T_camera_from_world[:3, :3]
    persons = []
    scale = camera.width / 640.0
    for p in range(len(joints_coco)):
        if visible[p].sum() < noise.min_keypoints or rng.random() < noise.miss_rate:
            continue
        xy = uv[p] + rng.normal(0.0, noise.keypoint_px * scale, uv[p].shape)
        xy[~visible[p]] += rng.normal(0.0, 8.0 * noise.keypoint_px * scale, xy[~visible[p]].shape)
        score = np.where(visible[p], rng.uniform(0.6, 0.95, 17), rng.uniform(0.0, 0.08, 17))
        seen = xy[visible[p]]
        margin = 0.1 * np.ptp(seen, axis=0).max()
        box = np.concatenate([seen.min(axis=0) - margin, seen.max(axis=0) + margin])
        box = np.clip(box, 0, [camera.width - 1, camera.height - 1] * 2)
        pelvis = joints_h36m[p, H36M_JOINT_NAMES.index("pelvis")]
        skeleton = (joints_h36m[p] - pelvis) @ R_camera_from_world.T
        persons.append(DetectedPerson(float(rng.uniform(0.85, 0.99)), box.astype(np.float32),
                                      np.column_stack([xy, score]).astype(np.float32), skeleton.astype(np.float32)))
    persons.sort(key=lambda person: -person.score)
    return FramePoses(camera.width, camera.height, 1, tuple(persons))


class RoomScene:
    """The synthetic room of a complete calibration: its walkers, and what each camera reports at a time."""

    def __init__(self, calibration: RoomCalibration, people: int = 3, noise: DetectorNoise = DetectorNoise(),
                 seed: int = 0, walkers: Sequence[Walker] = ()) -> None:
        """``walkers``: the people's own routes; none: ``people`` routes of `walkers_for`."""
        if not calibration.is_complete:
            raise ValueError(f"cameras without intrinsics: {list(calibration.pending_names)}")
        self.calibration = calibration
        self.walkers = list(walkers) if walkers else walkers_for(calibration, people)
        self.noise = noise
        self.seed = seed
        floor = calibration.floor
        self.floor_z = floor.offset_m if floor is not None and floor.normal_world[2] > 0.999 else 0.0

    def people(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """((P, 17, 3) COCO-17, (P, 17, 3) Human3.6M-17) world joints [m] of everyone at time ``t_s``."""
        coco, h36m = zip(*(walker.joints(t_s, self.floor_z) for walker in self.walkers), strict=True)
        return np.stack(coco), np.stack(h36m)

    def detections(self, t_s: float, hidden: Collection[int] = ()) -> dict[str, FramePoses]:
        """Camera name -> what its detector reports at ``t_s``; the same ``t_s`` gives the same noise. The people
        ``hidden`` (indices into `walkers`) are hidden from every camera (e.g. behind equipment); they hide no one."""
        coco, h36m = self.people(t_s)
        statures = np.array([walker.stature_m for walker in self.walkers])
        shown = [p for p in range(len(self.walkers)) if p not in hidden]
        rng = np.random.default_rng([self.seed, round(t_s * 1e6) % 2**63])
        return {camera.name: detect(camera, coco[shown], h36m[shown], statures[shown], self.floor_z, self.noise, rng)
                for camera in self.calibration.complete_cameras()}
