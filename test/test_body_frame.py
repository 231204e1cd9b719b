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


def test_the_up_direction_is_normalised_and_the_frame_is_4x4() -> None:
    joints = standing_person((1.0, 2.0), 0.0)
    T = body_pose(joints, up=np.array([0.0, 0.0, 2.5]))  # not a unit vector
    assert T.shape == (4, 4)
    np.testing.assert_array_equal(T[3], [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(T[:3, 2], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(T[:3, :3], body_pose(joints)[:3, :3], atol=1e-12)


def test_hips_and_shoulders_each_give_a_unit_direction_and_the_frame_takes_their_mean() -> None:
    # A twisted torso: hips 0.30 m wide along +y (angle 90 deg), shoulders 0.40 m wide at 150 deg.
    joints = standing_person((0.0, 0.0), 0.0)
    hip_dir = np.array([0.0, 1.0, 0.0])
    shoulder_dir = np.array([np.cos(np.radians(150.0)), np.sin(np.radians(150.0)), 0.0])
    joints[L_HIP] = joints[R_HIP] + 0.30 * hip_dir
    joints[L_SHOULDER] = joints[R_SHOULDER] + 0.40 * shoulder_dir + [0.0, 0.0, 0.05]  # a tilt does not count
    mean = (hip_dir + shoulder_dir) / np.linalg.norm(hip_dir + shoulder_dir)  # 120 deg, whatever the widths
    T = body_pose(joints)
    np.testing.assert_allclose(T[:3, 1], mean, atol=1e-12)
    np.testing.assert_allclose(T[:3, 0], np.cross(mean, [0.0, 0.0, 1.0]), atol=1e-12)


def test_a_line_exactly_min_width_wide_gives_the_heading() -> None:
    joints = standing_person((0.0, 0.0), 0.0)
    joints[R_SHOULDER, :2] = joints[L_SHOULDER, :2]  # shoulders give nothing
    joints[L_HIP] = [MIN_WIDTH_M, 0.0, 0.9]  # exactly the minimum width (in binary too), along x
    joints[R_HIP] = [0.0, 0.0, 0.9]
    T = body_pose(joints)
    assert T is not None
    np.testing.assert_allclose(T[:3, 1], [1.0, 0.0, 0.0], atol=1e-12)
