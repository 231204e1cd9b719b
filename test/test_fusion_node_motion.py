"""orpose_fusion_node publishes each person's tracking state, velocity, centre covariance and joint
uncertainties; a walker every camera stops detecting is published as predicted (faded markers) until the
track's max age, then dropped; TF: the cameras on /tf_static, body_<id> on /tf with the people's stamps.
A separate process, real DDS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fusion_data import ceiling_room, standing_person, write_calibration_yaml
from ros_tools.node_harness import NodePeer, camera_poses_msg, start_fusion_node, wait_until
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import Marker, MarkerArray

from orpose_msgs.msg import People3D, Person3D, PersonPoseArray
from orpose_ros.ros import processes
from orpose_ros.ros.people_markers import PREDICTED_ALPHA
from orpose_ros.ros.tf_publishing import TF_STATIC_QOS

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]

ROOM = ceiling_room(3)
POSES = "/orpose/poses"
SPEED = 0.8  # m/s along x
EPOCH = 1_795_000_100
SEEN = 10  # frames 0..9 (10 Hz) see the walker, the next ones do not


def _walker(k: int) -> np.ndarray:
    return standing_person((-1.0 + SPEED * 0.1 * k, 0.4), heading_rad=0.0)


def _poses_msg(camera_index: int, k: int) -> PersonPoseArray:
    return camera_poses_msg(ROOM.cameras[camera_index], [_walker(k)] if k < SEEN else [], EPOCH + k // 10,
                            (k % 10) * 100_000_000)


def _moment(k: int) -> list[PersonPoseArray]:
    """Every camera's poses of moment k."""
    return [_poses_msg(c, k) for c in range(3)]


def _centre(person: Person3D) -> np.ndarray:
    return np.array([person.centre.x, person.centre.y, person.centre.z])


def test_velocity_uncertainty_and_predicted_people(tmp_path: Path, ros_env: dict) -> None:
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml")
    log = tmp_path / "fusion.log"
    process = start_fusion_node(ros_env, log, calibration=calibration, stamp_tolerance_s=0.02, max_wait_s=2.0,
                                track_max_age_s=1.0)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray},
                    listen={"/orpose/people": People3D, "/orpose/people_markers": MarkerArray, "/tf": TFMessage})
    people, markers = peer.inbox.other["/orpose/people"], peer.inbox.other["/orpose/people_markers"]
    tf, tf_static = peer.inbox.other["/tf"], []
    peer.node.create_subscription(TFMessage, "/tf_static", tf_static.append, TF_STATIC_QOS)
    frames = [*range(15), 26]  # hidden from frame 10 on; frame 26 is 1.7 s after the last measurement
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        assert peer.wait_for_publisher("/orpose/people_markers", 30), log.read_text()
        assert peer.wait_for_publisher("/tf", 30), log.read_text()
        for n, k in enumerate(frames):
            for c in range(3):
                peer.publish(POSES, _poses_msg(c, k))
            assert wait_until(lambda n=n: len(people) > n and len(markers) > n, 60), log.read_text()[-3000:]
        assert wait_until(lambda: len(tf) >= 15 and tf_static, 30), log.read_text()[-3000:]
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()

    by_frame = dict(zip(frames, people, strict=True))
    ids = {p.id for msg in people for p in msg.people}
    assert len(ids) == 1
    assert ids.pop() >= 1
    assert by_frame[0].people[0].tracking_state == Person3D.TRACKING_NEW
    for k in range(1, SEEN):
        (person,) = by_frame[k].people
        assert person.tracking_state == Person3D.TRACKING_MEASURED
        assert person.time_since_measured == 0.0
        assert list(person.cameras) == ["cam1", "cam2", "cam3"]
        covariance = np.reshape(person.centre_covariance, (3, 3))
        assert np.allclose(covariance, covariance.T)
        assert np.all(np.linalg.eigvalsh(covariance) > 0)
        for joint in person.joints:
            joint_covariance = np.reshape(joint.covariance, (3, 3))
            assert 0 < joint.uncertainty < 0.05
            assert joint.uncertainty == pytest.approx(np.sqrt(np.linalg.eigvalsh(joint_covariance)[-1]), rel=1e-6)
    walking = by_frame[SEEN - 1].people[0]
    np.testing.assert_allclose([walking.velocity.x, walking.velocity.y, walking.velocity.z], [SPEED, 0, 0], atol=0.1)
    for k in range(SEEN, 15):
        (person,) = by_frame[k].people
        assert person.tracking_state == Person3D.TRACKING_PREDICTED
        assert person.time_since_measured == pytest.approx(0.1 * (k - SEEN + 1), abs=1e-6)
        assert list(person.cameras) == []
        assert list(person.detection_indices) == []
        truth = _walker(k)[[5, 6, 11, 12]].mean(axis=0)
        np.testing.assert_allclose(_centre(person), truth, atol=0.05)
    assert by_frame[26].people == []  # unseen for longer than track_max_age_s
    predicted_stamp = by_frame[12].header.stamp
    faded = [m for msg in markers for m in msg.markers
             if m.header.stamp == predicted_stamp and m.action == Marker.ADD]
    assert faded
    assert all(m.color.a == pytest.approx(PREDICTED_ALPHA) for m in faded)
    opaque = [m for msg in markers for m in msg.markers
              if m.header.stamp == by_frame[5].header.stamp and m.action == Marker.ADD]
    assert opaque
    assert all(m.color.a == 1.0 for m in opaque)
    # TF: the static cameras, then one body frame per moment the person is published (measured or predicted)
    (static,) = tf_static
    assert [(t.header.frame_id, t.child_frame_id) for t in static.transforms] == [
        ("room", f"cam{c}_optical") for c in (1, 2, 3)]
    camera = ROOM.cameras[0].T_world_from_camera[:3, 3]
    moved = static.transforms[0].transform.translation
    np.testing.assert_allclose([moved.x, moved.y, moved.z], camera, atol=1e-9)
    (person_id,) = {p.id for msg in people for p in msg.people}
    assert [(t.header.stamp, t.header.frame_id, t.child_frame_id) for msg in tf for t in msg.transforms] == [
        (by_frame[k].header.stamp, "room", f"body_{person_id}") for k in range(15)]
    hips = _walker(5)[[11, 12]].mean(axis=0)
    body = tf[5].transforms[0].transform
    np.testing.assert_allclose([body.translation.x, body.translation.y, body.translation.z], hips, atol=0.05)


def test_without_tf2_msgs_the_node_says_so_once_and_runs_without_tf(tmp_path: Path, ros_env: dict) -> None:
    env = {key: ":".join(p for p in value.split(":") if "/install-test" not in p) if key.endswith("PATH") else value
           for key, value in ros_env.items()}  # as on a machine without ROS's tf2_msgs
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml")
    log = tmp_path / "fusion.log"
    process = start_fusion_node(env, log, calibration=calibration, max_wait_s=0.5)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray}, listen={"/orpose/people": People3D})
    people = peer.inbox.other["/orpose/people"]
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        assert peer.publish_moments_until(POSES, _moment, lambda: bool(people), 60, 1.0), log.read_text()[-3000:]
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()
    errors = [line for line in log.read_text().splitlines() if "TF is not published" in line]
    assert len(errors) == 1
    assert "tf2_msgs" in errors[0]
    assert "ERROR" in errors[0]
    assert len(people[0].people) == 1


def test_with_publish_camera_tf_false_bodies_go_on_tf_and_no_camera_on_tf_static(tmp_path: Path,
                                                                                   ros_env: dict) -> None:
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml")
    log = tmp_path / "fusion.log"
    process = start_fusion_node(ros_env, log, calibration=calibration, max_wait_s=0.5, publish_camera_tf=False)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray}, listen={"/tf": TFMessage})
    tf, tf_static = peer.inbox.other["/tf"], []
    peer.node.create_subscription(TFMessage, "/tf_static", tf_static.append, TF_STATIC_QOS)
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/tf", 30), log.read_text()
        assert peer.publish_moments_until(POSES, _moment, lambda: bool(tf)), log.read_text()[-3000:]
        published = {topic for topic, _ in peer.node.get_publisher_names_and_types_by_node("orpose_fusion_node", "/")}
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()
    assert "/tf" in published
    assert "/tf_static" not in published
    assert tf_static == []  # transient local: a static message published before we listened would have come
    assert [t.child_frame_id for t in tf[0].transforms] == ["body_1"]
