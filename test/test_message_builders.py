"""Message builders, joint by joint: every asymmetric joint lands in its own slot (left stays left), x/y/z and
(x1, y1, x2, y2) keep their order, and unknown values stay NaN. Pure functions; no process is started.

(Marked ros: the builders return orpose_msgs messages.)
"""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.camera_people import CameraPerson
from orpose_ros.fusion.motion import PersonMotion, TrackingState
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
    assert msg.tracking_state == msg.TRACKING_UNKNOWN  # no motion given: not tracked
    assert np.isnan(msg.time_since_measured)
    assert np.isnan(xyz([msg.velocity])).all()


def _motion(state: TrackingState) -> PersonMotion:
    covariance = np.diag([0.01, 0.02, 0.03])
    return PersonMotion(state, np.array([0.25, -0.5, 3.0]), np.array([0.5, -0.25, 1.5]), covariance, 2 * covariance)


@pytest.mark.parametrize(("state", "constant"), [(TrackingState.NEW, "TRACKING_NEW"),
                                                 (TrackingState.MEASURED, "TRACKING_MEASURED")])
def test_a_camera_persons_velocity_keeps_x_y_z_and_its_tracking_state(state: TrackingState, constant: str) -> None:
    person = DetectedPerson(0.9, np.zeros(4, np.float32), np.zeros((17, 3), np.float32), np.zeros((17, 3), np.float32))
    placed = CameraPerson(3, True, "skeleton", np.array([0.25, -0.5, 3.0]), distinct_joints(5.0), 1.0,
                          _motion(state))
    msg = person_to_msg(person, placed)
    np.testing.assert_array_equal(xyz([msg.velocity]), [[0.5, -0.25, 1.5]])  # camera optical frame, m/s
    assert msg.tracking_state == getattr(msg, constant)
    assert msg.time_since_measured == 0.0
    # the same person not placed in this frame: tracked (state kept) but no metric velocity
    unplaced = CameraPerson(3, False, "", np.full(3, np.nan), np.full((17, 3), np.nan), float("nan"), _motion(state))
    msg = person_to_msg(person, unplaced)
    assert msg.tracking_state == getattr(msg, constant)
    assert np.isnan(xyz([msg.velocity])).all()


def test_the_tracking_constants_are_person3ds() -> None:
    from orpose_msgs.msg import Person3D, PersonPose

    for name in ("TRACKING_UNKNOWN", "TRACKING_NEW", "TRACKING_MEASURED", "TRACKING_PREDICTED"):
        assert getattr(PersonPose, name) == getattr(Person3D, name), name
