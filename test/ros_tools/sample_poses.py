"""Deterministic FramePoses and FrameResults for message tests."""

from __future__ import annotations

import numpy as np

from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import FrameResult, PersonResult
from orpose_ros.fusion.motion import PersonMotion, TrackingState
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import DetectedPerson, FramePoses

STAMP = (1_700_000_000, 123_456_789)
FRAME_ID = "ceiling_cam_optical"


def sample_frame_poses(people: int = 3, seed: int = 7) -> FramePoses:
    rng = np.random.default_rng(seed)
    persons = []
    for i in range(people):
        x1, y1 = rng.uniform(0, 300, 2)
        box = np.array([x1, y1, x1 + 120 + i, y1 + 200 + i], dtype=np.float32)
        kp2d = np.column_stack([rng.uniform(x1, x1 + 120, 17), rng.uniform(y1, y1 + 200, 17), rng.uniform(0, 9, 17)])
        kp3d = rng.normal(0, 0.4, (17, 3))
        kp3d[0] = 0.0
        persons.append(DetectedPerson(float(0.99 - 0.1 * i), box, kp2d.astype(np.float32), kp3d.astype(np.float32)))
    return FramePoses(width=640, height=480, downsample_factor=12, persons=tuple(persons))


def sample_placements(people: int = 3) -> list[CameraPerson]:
    """Identities, placements and tracking for the people of `sample_frame_poses` (the last one not placed, a new
    track; the others measured, with velocities whose x, y, z all differ: `sample_velocity`)."""
    placed = []
    for i in range(people):
        joints = np.arange(51, dtype=float).reshape(17, 3) / 10.0 + i
        if i == people - 1:
            motion = PersonMotion(TrackingState.NEW, np.array([0.1, 0.2, 3.0]), np.zeros(3), np.eye(3), np.eye(3))
            placed.append(CameraPerson(5 + i, False, "", np.full(3, np.nan), np.full((17, 3), np.nan), float("nan"),
                                       motion))
        else:
            motion = PersonMotion(TrackingState.MEASURED, joints[0], sample_velocity(i), np.eye(3), np.eye(3))
            placed.append(CameraPerson(5 + i, True, ("skeleton", "skeleton+floor")[i % 2], joints[0], joints, 0.5 + i,
                                       motion))
    return placed


def sample_velocity(i: int) -> np.ndarray:
    """(3,) the pelvis velocity [m/s, camera optical frame] of sample person ``i``."""
    return np.array([0.5 + i, -0.25 - i, 1.5])


def sample_frame_result(people: int = 3, source: str = "/camera/image_raw") -> FrameResult:
    """`sample_frame_poses` with `sample_placements`, as the camera pipeline would give them (nominal camera)."""
    poses = sample_frame_poses(people)
    camera = PinholeCamera.nominal("camera", poses.width, poses.height, 60.0)
    stamp_ns = STAMP[0] * 1_000_000_000 + STAMP[1]
    return FrameResult(stamp_ns, source, FRAME_ID, poses.width, poses.height, poses.downsample_factor, camera,
                       False, tuple(PersonResult(d, p) for d, p in zip(poses.persons, sample_placements(people),
                                                                        strict=True)))
