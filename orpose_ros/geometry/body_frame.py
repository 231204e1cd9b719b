"""A person's body frame from their joints, as REP 155 (human-robot interaction) names it: ``body_<id>``.

Origin at the hip centre (midpoint of the left and right hips), z up (the world's up), x forward: the
horizontal direction the person faces, perpendicular to the line from their right to their left side
(measured on the hips and the shoulders, whichever are placed, averaged), y to the person's left. Coordinates
in the world frame of the joints [m]; ROS-free.
"""

from __future__ import annotations

import numpy as np

from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

_L_HIP, _R_HIP = COCO_KEYPOINT_NAMES.index("left_hip"), COCO_KEYPOINT_NAMES.index("right_hip")
_L_SHOULDER, _R_SHOULDER = COCO_KEYPOINT_NAMES.index("left_shoulder"), COCO_KEYPOINT_NAMES.index("right_shoulder")
#: Below this horizontal length [m] a right-to-left line gives no heading (e.g. a person seen lying along it).
MIN_WIDTH_M = 0.05
#: The world's up in a z-up world frame (REP 103).
Z_UP = np.array([0.0, 0.0, 1.0])


def body_frame_id(person_id: int) -> str:
    """REP 155's name of the body frame of person ``person_id`` (a published id, >= 1)."""
    return f"body_{person_id}"


def body_pose(joints: np.ndarray, up: np.ndarray = Z_UP) -> np.ndarray | None:
    """(4, 4) T_world_from_body of a person's (17, 3) COCO-17 joints in the world frame [m] (NaN where not
    placed); None without both hips, or without a right-to-left line (hips or shoulders) at least
    ``MIN_WIDTH_M`` wide across ``up`` (a unit vector)."""
    joints = np.asarray(joints, dtype=np.float64)
    up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
    if not np.all(np.isfinite(joints[[_L_HIP, _R_HIP]])):
        return None
    lateral = np.zeros(3)
    for left, right in ((_L_HIP, _R_HIP), (_L_SHOULDER, _R_SHOULDER)):
        across = joints[left] - joints[right]
        across = across - (across @ up) * up
        width = np.linalg.norm(across)
        if np.all(np.isfinite(across)) and width >= MIN_WIDTH_M:
            lateral += across / width
    if np.linalg.norm(lateral) < 1e-6:
        return None
    y = lateral / np.linalg.norm(lateral)
    x = np.cross(y, up)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, up], axis=1)
    T[:3, 3] = (joints[_L_HIP] + joints[_R_HIP]) / 2
    return T
