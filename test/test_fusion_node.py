"""orpose_fusion_node as deployed: a separate process fed with the /orpose/poses of three simulated
calibrated cameras that see the same two people walking; the people come out where they are, in the
world frame, with identities that last."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fusion_data import ceiling_room, standing_person, write_calibration_yaml
from ros_tools.node_harness import NodePeer, camera_poses_msg, diagnostics_value, header, start_fusion_node, wait_until
from sensor_msgs.msg import CameraInfo

from orpose_msgs.msg import People3D, Person3D, PersonPoseArray
from orpose_ros.ros import processes
from orpose_ros.ros.fusion_node import CAMERA_INFO_GRACE_S, overdue_cameras

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]

ROOM = ceiling_room(3)
POSES = "/orpose/poses"


def _walkers(k: int) -> list[np.ndarray]:
    """Two people at frame k (10 Hz): one walks along x, one stands still; (17, 3) COCO joints [m]."""
    return [standing_person((-1.0 + 0.08 * k, 0.4), heading_rad=0.0), standing_person((0.6, -0.7), 1.2)]


#: Stamps of today's epoch [s]: a float of seconds cannot hold their nanoseconds exactly.
EPOCH = 1_795_000_050

def _poses_msg(camera_index: int, k: int, sec: int, nanosec: int) -> PersonPoseArray:
    return camera_poses_msg(ROOM.cameras[camera_index], _walkers(k), sec, nanosec)


def _centre(person: Person3D) -> np.ndarray:
    joints = np.array([[j.position.x, j.position.y, j.position.z] for j in person.joints])
    return np.nanmean(joints[[5, 6, 11, 12]], axis=0)


def test_people_of_three_cameras_are_located_in_the_room_with_lasting_ids(tmp_path: Path, ros_env: dict) -> None:
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml", pending=("cam3",))
    log = tmp_path / "fusion.log"
    # max_wait_s 2 s: a loaded machine may stall the node between two cameras' results of one moment
    process = start_fusion_node(ros_env, log, calibration=calibration, stamp_tolerance_s=0.02, max_wait_s=2.0)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray, "/cam3/camera_info": CameraInfo},
                    listen={"/orpose/people": People3D})
    people = peer.inbox.other["/orpose/people"]
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_subscriber("/cam3/camera_info", 30), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        cam3 = ROOM.cameras[2]
        info = CameraInfo(header=header(0, 0, "cam3_optical"), width=cam3.width, height=cam3.height,
                          k=cam3.K.ravel().tolist())
        for _ in range(3):  # best effort: say it a few times
            peer.publish("/cam3/camera_info", info)
            time.sleep(0.2)
        for k in range(15):
            for c in (2, 0, 1):  # cameras answer in any order, a few ms apart
                peer.publish(POSES, _poses_msg(c, k, EPOCH + k // 10, (k % 10) * 100_000_000 + c * 3_000_001))
            time.sleep(0.05)
        peer.publish(POSES, _poses_msg(0, 99, EPOCH + 2, 0))  # cam1 alone, later: cam2 and cam3 are missing
        assert wait_until(lambda: len(people) >= 16, 30), log.read_text()[-3000:]
        peer.publish(POSES, PersonPoseArray(header=header(EPOCH + 11, 0, "nowhere"), source_topic="/unknown/image_raw"))
        assert wait_until(lambda: (diagnostics_value(peer.inbox.diagnostics, "fusion", "unknown_camera_frames")
                                   or 0) >= 1, 10)
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()

    groups = people[:15]
    ids = set()
    for k, msg in enumerate(groups):
        assert msg.header.frame_id == "room"
        assert list(msg.cameras) == ["cam1", "cam2", "cam3"]
        assert msg.missing_cameras == []
        # the stamp of the group's latest frame, to the nanosecond (cam3's: 2 x 3_000_001 ns after cam1's)
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (EPOCH + k // 10, (k % 10) * 100_000_000 + 6_000_002)
        assert len(msg.people) == 2
        truth = [np.mean(j[[5, 6, 11, 12]], axis=0) for j in _walkers(k)]
        for person in msg.people:
            assert person.placement == Person3D.PLACEMENT_TRIANGULATED
            assert person.id >= 1
            assert sorted(person.cameras) == ["cam1", "cam2", "cam3"]
            assert (list(person.detection_indices) in (
                [0, 0, 0], [1, 1, 1]))
            assert min(np.linalg.norm(_centre(person) - t) for t in truth) < 0.05
            assert all(j.views == 3 and j.confidence > 0.5 and j.reprojection_error < 1.0 for j in person.joints)
        ids.add(tuple(sorted((p.detection_indices[0], p.id) for p in msg.people)))
    assert len(ids) == 1, ids  # the same identity for each person in every frame
    last = people[15]
    assert list(last.cameras) == ["cam1"]
    assert last.missing_cameras == ["cam2", "cam3"]
    measured = [p for p in last.people if p.tracking_state != Person3D.TRACKING_PREDICTED]
    predicted = [p for p in last.people if p.tracking_state == Person3D.TRACKING_PREDICTED]
    assert measured, "cam1 alone still sees people"
    assert all(p.placement == Person3D.PLACEMENT_SINGLE_VIEW for p in measured)
    # 0.6 s after the last moment of three cameras: people no camera measured now are still published, predicted
    assert all(list(p.cameras) == [] for p in predicted)


def test_a_missing_calibration_is_one_line(tmp_path: Path, ros_env: dict) -> None:
    log = tmp_path / "fusion.log"
    assert start_fusion_node(ros_env, log, calibration=tmp_path / "nowhere.yaml").wait(60) == 1
    fatal = [line for line in log.read_text().splitlines() if "FATAL" in line]
    assert len(fatal) == 1
    assert "parameter 'calibration'" in fatal[0]
    assert "nowhere.yaml" in fatal[0]
    assert start_fusion_node(ros_env, log).wait(60) == 1
    assert "parameter 'calibration': '' is empty; expected a calibration file" in log.read_text()


def test_a_camera_is_overdue_for_its_camera_info_from_exactly_the_grace_on() -> None:
    waiting_since: dict[str, float] = {}
    assert overdue_cameras(waiting_since, {"cam3"}, 100.0, 2.0) == []  # its first poses start the clock
    assert waiting_since == {"cam3": 100.0}
    assert overdue_cameras(waiting_since, {"cam3", "cam2"}, 101.75, 2.0) == []  # 1.75 s < 2 s; cam2 starts
    assert overdue_cameras(waiting_since, {"cam3"}, 102.0, 2.0) == [("cam3", 2.0)]  # exactly the grace
    assert overdue_cameras(waiting_since, {"cam2", "cam3"}, 103.75, 2.0) == [("cam2", 2.0), ("cam3", 3.75)]
    assert overdue_cameras(waiting_since, set(), 200.0, 2.0) == []  # nobody waits in this moment


def test_a_camera_whose_camera_info_never_comes_is_warned_after_the_grace_naming_its_topic(
        tmp_path: Path, ros_env: dict) -> None:
    calibration = write_calibration_yaml(ROOM, tmp_path / "room.yaml", pending=("cam3",))
    log = tmp_path / "fusion.log"
    process = start_fusion_node(ros_env, log, calibration=calibration, stamp_tolerance_s=0.02, max_wait_s=0.5)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray}, listen={"/orpose/people": People3D})
    people = peer.inbox.other["/orpose/people"]
    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        def moment(k: int) -> list[PersonPoseArray]:  # 10 Hz, until the warning is out
            return [_poses_msg(c, k, EPOCH + k // 10, (k % 10) * 100_000_000) for c in range(3)]

        warned = peer.publish_moments_until(POSES, moment, lambda: "no camera_info" in log.read_text(), 60, 0.1)
        assert warned, log.read_text()[-3000:]
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()
    warnings = [line for line in log.read_text().splitlines() if "WARN" in line]
    assert len(warnings) == 1, warnings  # once (throttled), and nothing else to warn of
    assert "cam3: no camera_info on /cam3/camera_info for " in warnings[0]
    waited = float(warnings[0].split(" for ")[1].split(" s;")[0])
    assert CAMERA_INFO_GRACE_S <= waited < CAMERA_INFO_GRACE_S + 5.0  # the edge itself: the test above
    assert people
    # cam3's poses wait, the others are fused (a moment whose cam2 came after max_wait_s, or none at all on a
    # loaded machine, is fused from fewer cameras or only predicted: never with cam3)
    assert all("cam3" not in msg.cameras and "cam3" in msg.missing_cameras for msg in people)
    assert any(list(msg.cameras) == ["cam1", "cam2"] for msg in people)
