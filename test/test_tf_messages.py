"""TF builders: the static camera transforms of a calibration and the REP 155 body frames of the fused
people, as real tf2_msgs/TFMessage (built from test/interfaces, never installed for users)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from conftest import REPO
from fusion_data import ceiling_room, standing_person
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.geometry.body_frame import body_pose
from orpose_ros.ros.tf_messages import camera_transforms, people_transforms, transform_msg
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

pytestmark = pytest.mark.ros

ROOM = ceiling_room(3)


def matrix(transform) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat([transform.rotation.x, transform.rotation.y, transform.rotation.z,
                                    transform.rotation.w]).as_matrix()
    T[:3, 3] = transform.translation.x, transform.translation.y, transform.translation.z
    return T


def person(track_id: int, joints: np.ndarray) -> FusedPerson:
    n = len(joints)
    return FusedPerson(joints, np.ones(n), np.full(n, 3), np.zeros(n), 0.9, ("cam1",), (0,), TRIANGULATED, track_id)


def test_the_test_interfaces_are_the_real_type_and_not_installed_for_users() -> None:
    import tf2_msgs

    assert type(camera_transforms(ROOM, Time())) is TFMessage
    assert "/install-test" in Path(tf2_msgs.__file__).as_posix()
    assert not list((REPO / "install").glob("tf2_msgs"))
    assert "<exec_depend>tf2_msgs</exec_depend>" in (REPO / "package.xml").read_text()  # real installs: ROS's own


def test_static_camera_transforms_world_to_each_optical_frame() -> None:
    stamp = Time(sec=1_795_000_000, nanosec=123)
    msg = camera_transforms(ROOM, stamp)
    assert [t.child_frame_id for t in msg.transforms] == ["cam1", "cam2", "cam3"]  # no frame_id: the name
    for t, camera in zip(msg.transforms, ROOM.cameras, strict=True):
        assert t.header.frame_id == "room"
        assert t.header.stamp == stamp
        np.testing.assert_allclose(matrix(t.transform), camera.T_world_from_camera, atol=1e-9)


def test_body_frames_of_the_people_with_an_identity_stamped_with_the_measurement() -> None:
    header = Header(stamp=Time(sec=1_795_000_042, nanosec=999_999_999), frame_id="room")
    walker = standing_person((1.0, -0.5), np.radians(90.0))  # faces -x
    no_hips = walker.copy()
    no_hips[[11, 12]] = np.nan
    people = [person(0, walker), person(-1, walker), person(4, no_hips)]  # ids 1, unconfirmed, no body frame
    (body,) = people_transforms(header, people).transforms
    assert (body.header.frame_id, body.child_frame_id, body.header.stamp) == ("room", "body_1", header.stamp)
    T = matrix(body.transform)
    np.testing.assert_allclose(T[:3, 3], walker[[11, 12]].mean(axis=0), atol=1e-9)
    # facing -x: x forward = -x, y left = -y, z up
    np.testing.assert_allclose(T[:3, :3], Rotation.from_euler("z", 180, degrees=True).as_matrix(), atol=1e-9)


def test_joint_frames_under_the_body_frame_put_each_joint_where_it_is() -> None:
    header = Header(stamp=Time(sec=5), frame_id="room")
    walker = standing_person((0.3, 0.2), 0.4)
    walker[COCO_KEYPOINT_NAMES.index("left_wrist")] = np.nan
    transforms = people_transforms(header, [person(6, walker)], joints=True).transforms
    body, joints = transforms[0], transforms[1:]
    assert len(joints) == 16
    assert "left_wrist_7" not in {t.child_frame_id for t in joints}
    assert "right_wrist_7" in {t.child_frame_id for t in joints}
    T_world_body = matrix(body.transform)
    for t in joints:
        name, _, person_id = t.child_frame_id.rpartition("_")
        assert person_id == "7"
        assert t.header.frame_id == "body_7"
        assert t.header.stamp == header.stamp
        where = T_world_body @ matrix(t.transform)[:, 3]
        np.testing.assert_allclose(where, [*walker[COCO_KEYPOINT_NAMES.index(name)], 1], atol=1e-9)


def test_transform_msg_round_trip() -> None:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xyz", [10, -20, 30], degrees=True).as_matrix()
    T[:3, 3] = [1.0, -2.0, 3.5]
    np.testing.assert_allclose(matrix(transform_msg(T)), T, atol=1e-12)


def test_every_person_with_a_body_frame_gets_one_in_order_whoever_comes_before() -> None:
    header = Header(stamp=Time(sec=5), frame_id="room")
    a, b = standing_person((1.0, 0.0), 0.3), standing_person((-1.0, 0.5), 2.0)
    no_hips = a.copy()
    no_hips[[11, 12]] = np.nan
    people = [person(-1, a), person(8, no_hips), person(2, a), person(4, b)]  # untracked, no frame, two bodies
    bodies = people_transforms(header, people).transforms
    assert [t.child_frame_id for t in bodies] == ["body_3", "body_5"]
    with_joints = people_transforms(header, people, joints=True).transforms
    assert [t.child_frame_id for t in with_joints if t.header.frame_id == "room"] == ["body_3", "body_5"]
    assert len(with_joints) == 2 * (1 + 17)


def test_the_body_frames_use_the_given_up_direction() -> None:
    header = Header(stamp=Time(sec=5), frame_id="room")
    walker = standing_person((1.0, -0.5), 0.7)
    up = np.array([0.0, np.sin(0.2), np.cos(0.2)])  # a world whose up leans 0.2 rad towards y
    (body,) = people_transforms(header, [person(0, walker)], up=up).transforms
    T = matrix(body.transform)
    np.testing.assert_allclose(T[:3, 2], up, atol=1e-9)
    np.testing.assert_allclose(T, body_pose(walker, up), atol=1e-9)
