"""Message builders, joint by joint: every asymmetric joint lands in its own slot (left stays left), x/y/z and
(x1, y1, x2, y2) keep their order, and unknown values stay NaN. Pure functions; no process is started.

(Marked ros: the builders return orpose_msgs messages.)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from std_msgs.msg import Header

from orpose_msgs.msg import Person3D
from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import FrameResult, PersonResult
from orpose_ros.fusion.motion import PersonMotion, TrackingState
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import DetectedPerson
from orpose_ros.ros.pose_messages import frame_result_to_msg, fused_person_to_msg, people_to_msg, person_to_msg
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


def _motion_person(state: TrackingState, placement: str = TRIANGULATED) -> tuple[FusedPerson, PersonMotion, np.ndarray]:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    motion = PersonMotion(state, np.array([1.25, -0.5, 0.875]), np.array([0.25, -0.125, 0.0625]), a @ a.T, b @ b.T,
                          0.375)
    covariance = np.stack([np.diag([0.01, 0.04, 0.09]) * (1 + k) for k in range(17)])
    covariance[2, 0, 1] = covariance[2, 1, 0] = 0.005  # asymmetric order check: off-diagonal entries
    covariance[4] = np.nan  # a joint not placed
    person = FusedPerson(distinct_joints(0.5), np.full(17, 0.5), np.full(17, 2), np.ones(17), 0.6, ("cam1",),
                         (3,), placement, id=-1, joint_covariance=covariance, motion=motion)
    return person, motion, covariance


@pytest.mark.parametrize("state", ["new", "measured", "predicted"])
def test_a_fused_persons_motion_and_joint_covariances_are_copied_row_major(state: str) -> None:

    person, motion, covariance = _motion_person(TrackingState(state))
    msg = fused_person_to_msg(person)
    expected_state = {"new": Person3D.TRACKING_NEW, "measured": Person3D.TRACKING_MEASURED,
                      "predicted": Person3D.TRACKING_PREDICTED}[state]
    assert msg.tracking_state == expected_state
    assert msg.time_since_measured == 0.375
    np.testing.assert_array_equal(xyz([msg.centre]), [[1.25, -0.5, 0.875]])
    np.testing.assert_array_equal([msg.velocity.x, msg.velocity.y, msg.velocity.z], [0.25, -0.125, 0.0625])
    np.testing.assert_array_equal(msg.centre_covariance, motion.centre_covariance.ravel())
    np.testing.assert_array_equal(msg.velocity_covariance, motion.velocity_covariance.ravel())
    assert msg.id == 0  # not tracked yet: -1 is published as 0
    assert msg.placement == Person3D.PLACEMENT_TRIANGULATED
    assert msg.score == pytest.approx(0.6)
    for k, joint in enumerate(msg.joints):
        np.testing.assert_array_equal(joint.covariance, covariance[k].ravel(), err_msg=str(k))
    np.testing.assert_allclose([j.uncertainty for j in msg.joints if not np.isnan(j.uncertainty)],
                               [np.sqrt(0.09 * (1 + k)) for k in range(17) if k != 4], rtol=1e-12)
    assert np.isnan(msg.joints[4].uncertainty)


def test_a_person_without_motion_or_covariance_has_nan_there_and_unknown_tracking() -> None:
    person = FusedPerson(distinct_joints(0.5), np.full(17, 0.5), np.full(17, 1), np.ones(17), 0.6, ("cam1",), (3,),
                         "single-view skeleton")
    msg = fused_person_to_msg(person)
    assert msg.placement == Person3D.PLACEMENT_SINGLE_VIEW
    assert msg.tracking_state == Person3D.TRACKING_UNKNOWN
    assert np.isnan(msg.time_since_measured)
    assert np.isnan(xyz([msg.centre])).all()
    assert np.isnan([msg.velocity.x, msg.velocity.y, msg.velocity.z]).all()
    assert len(msg.centre_covariance) == 9
    assert np.isnan(msg.centre_covariance).all()
    assert len(msg.velocity_covariance) == 9
    assert np.isnan(msg.velocity_covariance).all()
    for joint in msg.joints:
        assert len(joint.covariance) == 9
        assert np.isnan(joint.covariance).all()
        assert np.isnan(joint.uncertainty)


def test_people_to_msg_keeps_header_cameras_missing_and_order() -> None:
    first, _, _ = _motion_person(TrackingState.MEASURED)
    second = FusedPerson(distinct_joints(3.0), np.full(17, 0.5), np.full(17, 1), np.ones(17), 0.6, ("cam2",), (1,),
                         "single-view floor", id=4)
    header = Header(frame_id="world")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = people_to_msg([first, second], header, ["cam1", "cam2", "cam3"], ["cam3"])
    assert msg.header == header
    assert list(msg.cameras) == ["cam1", "cam2", "cam3"]
    assert list(msg.missing_cameras) == ["cam3"]
    assert [p.id for p in msg.people] == [0, 5]
    np.testing.assert_array_equal(xyz([j.position for j in msg.people[1].joints]), distinct_joints(3.0))


def _camera_person() -> DetectedPerson:
    keypoints_2d = distinct_joints(0.0).astype(np.float32)
    keypoints_2d[:, 2] = 0.5
    return DetectedPerson(0.875, np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32), keypoints_2d,
                          distinct_joints(-3.0).astype(np.float32))


def test_a_camera_person_without_placement_is_unplaced_with_id_0() -> None:
    msg = person_to_msg(_camera_person())
    assert msg.score == 0.875
    assert msg.id == 0
    assert msg.placement == msg.PLACEMENT_NONE
    assert np.isnan(xyz([msg.position])).all()
    assert np.isnan(xyz(msg.keypoints_3d_camera)).all()
    assert np.isnan(msg.placement_error)


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("keypoints_2d", np.zeros((16, 3)), "keypoints_2d must have shape (17, 3), got (16, 3)"),
    ("keypoints_3d", np.zeros((17, 2)), "keypoints_3d must have shape (17, 3), got (17, 2)"),
    ("bbox", np.zeros(5), "bbox must have shape (4,), got (5,)"),
])  # fmt: skip
def test_a_camera_person_of_the_wrong_shape_is_refused_naming_the_array(field: str, value: np.ndarray,
                                                                         expected: str) -> None:
    with pytest.raises(ValueError) as error:
        person_to_msg(replace(_camera_person(), **{field: value}))
    assert str(error.value) == expected


def test_a_frame_result_message_copies_header_size_factor_and_people_in_order() -> None:
    placed = CameraPerson(2, True, "skeleton", np.array([0.5, 0.25, 2.0]), distinct_joints(1.0), 1.5)
    people = (PersonResult(_camera_person(), placed), PersonResult(_camera_person(), CameraPerson.unplaced(5)))
    result = FrameResult(123, "/cam1/image_raw", "cam1_optical", 320, 240, 2,
                         PinholeCamera.nominal("cam1", 320, 240, 60.0), True, people)
    header = Header(frame_id="cam1_optical")
    header.stamp.sec, header.stamp.nanosec = 7, 89
    msg = frame_result_to_msg(result, header)
    assert msg.header == header
    assert (msg.source_topic, msg.image_width, msg.image_height, msg.downsample_factor) == (
        "/cam1/image_raw", 320, 240, 2)
    assert [p.id for p in msg.persons] == [2, 5]
    assert [p.placement for p in msg.persons] == [msg.persons[0].PLACEMENT_SKELETON, msg.persons[0].PLACEMENT_NONE]
    np.testing.assert_array_equal(xyz([msg.persons[0].position]), [[0.5, 0.25, 2.0]])
    np.testing.assert_array_equal([[k.x, k.y] for k in msg.persons[1].keypoints_2d], distinct_joints(0.0)[:, :2])


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
