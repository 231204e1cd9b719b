"""REP 155 body frame from the joints: origin at the hip centre, z up, x the way the person faces."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import standing_person

from orpose_ros.geometry.body_frame import MIN_WIDTH_M, body_pose
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

L_HIP, R_HIP = COCO_KEYPOINT_NAMES.index("left_hip"), COCO_KEYPOINT_NAMES.index("right_hip")
L_SHOULDER, R_SHOULDER = COCO_KEYPOINT_NAMES.index("left_shoulder"), COCO_KEYPOINT_NAMES.index("right_shoulder")


@pytest.mark.parametrize("heading_deg", [0.0, 90.0, -135.0])
def test_origin_at_the_hip_centre_z_up_x_forward(heading_deg: float) -> None:
    joints = standing_person((1.0, 2.0), np.radians(heading_deg))  # the template faces its +y, turned
    T = body_pose(joints)
    heading = np.radians(heading_deg)
    forward = np.array([-np.sin(heading), np.cos(heading), 0.0])
    np.testing.assert_allclose(T[:3, 3], (joints[L_HIP] + joints[R_HIP]) / 2, atol=1e-12)
    np.testing.assert_allclose(T[:3, 0], forward, atol=1e-9)
    np.testing.assert_allclose(T[:3, 2], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-12)
    assert np.linalg.det(T[:3, :3]) == pytest.approx(1.0)
    left = T[:3, 1]  # y: towards the person's left
    assert (joints[L_SHOULDER] - joints[R_SHOULDER]) @ left > 0


def test_a_leaning_torso_keeps_z_up_and_the_shoulders_alone_can_give_the_heading() -> None:
    joints = standing_person((0.0, 0.0), 0.0)
    joints[[L_SHOULDER, R_SHOULDER], 2] += [0.1, -0.1]  # shoulders tilted
    assert np.allclose(body_pose(joints)[:3, 2], [0, 0, 1])
    hips_stacked = joints.copy()
    hips_stacked[R_HIP, :2] = hips_stacked[L_HIP, :2]  # hips one above the other: no width there
    np.testing.assert_allclose(body_pose(hips_stacked)[:3, 0], [0.0, 1.0, 0.0], atol=1e-9)


def test_no_frame_without_both_hips_or_any_width() -> None:
    joints = standing_person((0.0, 0.0), 0.0)
    missing = joints.copy()
    missing[R_HIP] = np.nan
    assert body_pose(missing) is None
    narrow = joints.copy()
    for left, right in ((L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER)):
        narrow[right, :2] = narrow[left, :2] + [0.0, MIN_WIDTH_M - 0.001]  # 1 mm too narrow
    assert body_pose(narrow) is None
    for left, right in ((L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER)):
        narrow[right, :2] = narrow[left, :2] + [0.0, MIN_WIDTH_M + 0.001]  # 1 mm wide enough
    assert body_pose(narrow) is not None
