"""Message builders, joint by joint: every asymmetric joint lands in its own slot (left stays left), x/y/z and
(x1, y1, x2, y2) keep their order, and unknown values stay NaN. Pure functions; no process is started.

(Marked ros: the builders return orpose_msgs messages.)
"""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.camera_people import CameraPerson
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.poses import DetectedPerson
from orpose_ros.ros.pose_messages import fused_person_to_msg, person_to_msg
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, H36M_JOINT_NAMES

pytestmark = pytest.mark.ros


def distinct_joints(offset: float) -> np.ndarray:
    """(17, 3) joints whose every coordinate is different: joint k = offset + (k, 100 + k, 200 + k) / 8."""
    k = np.arange(17.0)[:, None]
    return offset + np.concatenate([k, 100 + k, 200 + k], axis=1) / 8


def xyz(points: list) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in points])


def test_a_fused_persons_joints_keep_their_slots_coordinates_and_nan_errors() -> None:
    joints = distinct_joints(1.0)
    errors = np.linspace(0.5, 2.1, 17)
    errors[3] = np.nan  # unknown error of one joint
    person = FusedPerson(joints, np.linspace(0.1, 0.9, 17), np.arange(17) % 4, errors, 0.75, ("cam2", "cam1"),
                         (4, 0), TRIANGULATED, id=6)
    msg = fused_person_to_msg(person)
    left, right = COCO_KEYPOINT_NAMES.index("left_shoulder"), COCO_KEYPOINT_NAMES.index("right_shoulder")
    np.testing.assert_array_equal(xyz([msg.joints[left].position]), joints[[left]])
    np.testing.assert_array_equal(xyz([msg.joints[right].position]), joints[[right]])
    np.testing.assert_array_equal(xyz([j.position for j in msg.joints]), joints)
    np.testing.assert_allclose([j.confidence for j in msg.joints], np.linspace(0.1, 0.9, 17), rtol=1e-6)
    np.testing.assert_array_equal([j.views for j in msg.joints], np.arange(17) % 4)
    reported = np.array([j.reprojection_error for j in msg.joints])
    assert np.isnan(reported[3])  # not turned into 0
    np.testing.assert_allclose(np.delete(reported, 3), np.delete(errors, 3), rtol=1e-6)
    assert (msg.id, msg.cameras, list(msg.detection_indices)) == (7, ["cam2", "cam1"], [4, 0])


def test_a_camera_persons_keypoints_box_and_placement_keep_their_order() -> None:
    keypoints_2d = distinct_joints(0.0).astype(np.float32)
    keypoints_2d[:, 2] = np.linspace(0.05, 0.85, 17)
    keypoints_3d = distinct_joints(-3.0).astype(np.float32)
    person = DetectedPerson(0.9, np.array([10.0, 20.0, 110.0, 220.0], dtype=np.float32), keypoints_2d, keypoints_3d)
    placed = CameraPerson(3, True, "floor", np.array([0.25, -0.5, 3.0]), distinct_joints(5.0), float("nan"))
    msg = person_to_msg(person, placed)
    assert list(msg.bbox) == [10.0, 20.0, 110.0, 220.0]  # x1, y1, x2, y2
    left_wrist, right_wrist = COCO_KEYPOINT_NAMES.index("left_wrist"), COCO_KEYPOINT_NAMES.index("right_wrist")
    for k in (left_wrist, right_wrist):
        assert (msg.keypoints_2d[k].x, msg.keypoints_2d[k].y) == (keypoints_2d[k, 0], keypoints_2d[k, 1])
    np.testing.assert_array_equal([[p.x, p.y, p.score] for p in msg.keypoints_2d], keypoints_2d)
    left_knee, right_knee = H36M_JOINT_NAMES.index("left_knee"), H36M_JOINT_NAMES.index("right_knee")
    np.testing.assert_array_equal(xyz([msg.keypoints_3d[left_knee]]), keypoints_3d[[left_knee]])
    np.testing.assert_array_equal(xyz([msg.keypoints_3d[right_knee]]), keypoints_3d[[right_knee]])
    np.testing.assert_array_equal(xyz(msg.keypoints_3d), keypoints_3d)
    np.testing.assert_array_equal(xyz(msg.keypoints_3d_camera), distinct_joints(5.0))
    np.testing.assert_array_equal(xyz([msg.position]), [[0.25, -0.5, 3.0]])
    assert (msg.id, msg.placement) == (3, msg.PLACEMENT_FLOOR)
    assert np.isnan(msg.placement_error)
