"""orpose_fusion_node without a calibration file: camera poses from chains of static transforms on /tf_static,
intrinsics from camera_info; a camera whose chain is incomplete waits, one whose chain moves (/tf) is refused.
Also the parameters' checks, TFMessage read back as transforms, and orpose_msgs/TrackedIds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from fusion_data import ceiling_room, standing_person
from geometry_msgs.msg import TransformStamped
from ros_tools.node_harness import NodePeer, camera_poses_msg, header, start_fusion_node, wait_until
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from orpose_msgs.msg import People3D, PersonPoseArray, TrackedIds
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.ros import processes
from orpose_ros.ros.fusion_node import FusionConfig
from orpose_ros.ros.parameters import ConfigError
from orpose_ros.ros.room_demo import camera_info_msg
from orpose_ros.ros.tf_camera_poses import TF_STATIC_LISTENER_QOS
from orpose_ros.ros.tf_messages import transform_msg, transforms_of
from orpose_ros.ros.tf_publishing import TF_QOS, TF_STATIC_QOS
from orpose_ros.ros.tracked_ids import tracked_ids_msg

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]

ROOM = ceiling_room(3)
FRAMES = [f"{camera.name}_optical" for camera in ROOM.cameras]
INFOS = [f"/{camera.name}/camera_info" for camera in ROOM.cameras]
POSES = "/orpose/poses"
EPOCH = 1_795_000_300
# cam1 hangs from a rig: world -> rig (turned, shifted) -> cam1_optical
T_WORLD_FROM_RIG = np.array([[0.0, -1.0, 0.0, 1.5], [1.0, 0.0, 0.0, -0.5], [0.0, 0.0, 1.0, 2.9], [0, 0, 0, 1.0]])


def tf_config(**changes: object) -> FusionConfig:
    base = FusionConfig(camera_poses_from_tf=True, world_frame="room", camera_frames=tuple(FRAMES),
                        camera_info_topics=tuple(INFOS))
    return replace(base, **changes)


def test_either_a_calibration_file_or_cameras_from_tf() -> None:
    tf_config().check()
    tf_config(camera_image_topics=("/a", "/b", "/c")).check()
    calibration = tf_config().tf_calibration()
    assert calibration.names == tuple(FRAMES)
    assert calibration.pending_names == tuple(FRAMES)
    assert [c.frame_id for c in calibration.cameras] == FRAMES
    assert [c.camera_info_topic for c in calibration.cameras] == INFOS
    assert calibration.world_frame == "room"
    FusionConfig(calibration="room.yaml").check()
    cases = [
        (tf_config(calibration="room.yaml"), "parameter 'calibration': camera_poses_from_tf takes the cameras"),
        (FusionConfig(), "parameter 'calibration': '' is empty; expected a calibration file, or camera_poses_from_tf"),
        (FusionConfig(calibration="room.yaml", camera_frames=("cam",)), "parameters ['camera_frames']: only used"),
        (FusionConfig(calibration="room.yaml", world_frame="room"), "parameters ['world_frame']: only used"),
        (tf_config(world_frame=""), "parameter 'world_frame': '' is empty"),
        (tf_config(camera_frames=("a", "a", "b")), "parameter 'camera_frames'"),
        (tf_config(camera_frames=("a", "room", "b")), "parameter 'camera_frames'"),
        (tf_config(camera_frames=("a", "", "b")), "parameter 'camera_frames'"),
        (tf_config(camera_info_topics=tuple(INFOS[:2])), "parameter 'camera_info_topics': "),
        (tf_config(camera_info_topics=("",)), "parameter 'camera_info_topics': "),
        (tf_config(camera_image_topics=("/a", "/b")), "parameter 'camera_image_topics': "),
        (tf_config(camera_image_topics=("/a", "/a", "/b")), "parameter 'camera_image_topics': "),
    ]
    for config, message in cases:
        with pytest.raises(ConfigError) as error:
            config.check()
        assert message in str(error.value)


def stamped(parent: str, child: str, T: np.ndarray) -> TransformStamped:
    return TransformStamped(header=Header(frame_id=parent), child_frame_id=child, transform=transform_msg(T))


def test_a_tf_message_reads_back_as_parent_child_transforms() -> None:
    bad = stamped("room", "bad", np.eye(4))
    bad.transform.rotation.w = 2.0
    transforms, problems = transforms_of(TFMessage(transforms=[stamped("room", "rig", T_WORLD_FROM_RIG), bad]))
    ((parent, child, T),) = transforms
    assert (parent, child) == ("room", "rig")
    np.testing.assert_allclose(T, T_WORLD_FROM_RIG, atol=1e-12)
    assert problems == ["transform 'room' -> 'bad': rotation norm is 2, expected 1 (x, y, z, w order): ignored"]


def person(track_id: int) -> FusedPerson:
    joints = standing_person((0.0, 0.0))
    n = len(joints)
    return FusedPerson(joints, np.ones(n), np.full(n, 3), np.zeros(n), 0.9, ("cam1",), (0,), TRIANGULATED, track_id)


def test_tracked_ids_list_the_published_ids_and_their_live_frames() -> None:
    hdr = Header(stamp=Time(sec=5, nanosec=7), frame_id="room")
    msg = tracked_ids_msg(hdr, [person(0), person(-1), person(4)], {"body_1"})  # tracker ids: 0 -> 1, -1 -> none
    assert isinstance(msg, TrackedIds)
    assert msg.header == hdr
    assert list(msg.ids) == [1, 5]
    assert list(msg.frame_ids) == ["body_1", ""]
    assert list(tracked_ids_msg(hdr, [], set()).ids) == []


def poses_msg(camera_index: int, k: int) -> PersonPoseArray:
    return camera_poses_msg(ROOM.cameras[camera_index], [standing_person((0.3, -0.2), 0.5)], EPOCH + k // 10,
                            (k % 10) * 100_000_000, FRAMES[camera_index])


def test_cameras_from_static_tf_wait_for_their_chain_and_a_moving_one_is_refused(tmp_path: Path,
                                                                                  ros_env: dict) -> None:
    log = tmp_path / "fusion.log"
    process = start_fusion_node(ros_env, log, camera_poses_from_tf=True, world_frame="room", camera_frames=FRAMES,
                                camera_info_topics=INFOS, max_wait_s=0.3)
    peer = NodePeer(ros_env, {POSES: PersonPoseArray, **{topic: type(camera_info_msg(ROOM.cameras[0], Header()))
                                                         for topic in INFOS}},
                    listen={"/orpose/people": People3D, "/orpose/people/tracked": TrackedIds})
    people, tracked = peer.inbox.other["/orpose/people"], peer.inbox.other["/orpose/people/tracked"]
    statics = []
    peer.node.create_subscription(TFMessage, "/tf_static", statics.append, TF_STATIC_LISTENER_QOS)
    # one static publisher per tool, as tf2_ros's static broadcasters: cam2 direct, cam1 below a rig, cam3 below
    # an arm; the rig's own link comes later from another publisher; the arm's comes on /tf (it moves)
    first = peer.node.create_publisher(TFMessage, "/tf_static", TF_STATIC_QOS)
    rig_link = peer.node.create_publisher(TFMessage, "/tf_static", TF_STATIC_QOS)
    moving = peer.node.create_publisher(TFMessage, "/tf", TF_QOS)
    T_rig_from_cam1 = np.linalg.inv(T_WORLD_FROM_RIG) @ ROOM.cameras[0].T_world_from_camera
    first.publish(TFMessage(transforms=[stamped("room", FRAMES[1], ROOM.cameras[1].T_world_from_camera),
                                        stamped("rig", FRAMES[0], T_rig_from_cam1),
                                        stamped("arm", FRAMES[2], np.eye(4))]))
    k = 0

    def moment() -> tuple[int, int]:
        """Publish the next moment of every camera; its stamp (sec, nanosec)."""
        nonlocal k
        stamp = header(EPOCH + k // 10, (k % 10) * 100_000_000, "")
        for c, camera in enumerate(ROOM.cameras):
            peer.publish(INFOS[c], camera_info_msg(camera, Header(stamp=stamp.stamp, frame_id=FRAMES[c])))
            peer.publish(POSES, poses_msg(c, k))
        moving.publish(TFMessage(transforms=[stamped("room", "arm", ROOM.cameras[2].T_world_from_camera)]))
        k += 1
        return stamp.stamp.sec, stamp.stamp.nanosec

    def fused_by(cameras: list[str]) -> bool:
        # this moment's people, by its stamp: a moment published before the DDS match completes is lost on a
        # loaded machine, so counting messages against moments could fall behind for good
        stamp = moment()
        return wait_until(lambda: any((m.header.stamp.sec, m.header.stamp.nanosec) == stamp
                                      and list(m.cameras) == cameras for m in people), 5)

    try:
        assert peer.wait_for_subscriber(POSES, 60), log.read_text()
        assert peer.wait_for_publisher("/orpose/people", 30), log.read_text()
        assert wait_until(lambda: fused_by([FRAMES[1]]), 120), log.read_text()[-3000:]
        assert wait_until(lambda: "refused" in log.read_text(), 60), log.read_text()[-3000:]
        before = len(people)
        rig_link.publish(TFMessage(transforms=[stamped("room", "rig", T_WORLD_FROM_RIG)]))
        assert wait_until(lambda: fused_by(FRAMES[:2]), 120), log.read_text()[-3000:]
        assert wait_until(lambda: len(tracked) >= len(people), 30), log.read_text()[-3000:]
    finally:
        peer.close()
        assert processes.stop(process) == 0, log.read_text()
    text = log.read_text()
    assert text.count(f"camera '{FRAMES[0]}': waiting for /tf_static") == 1, text
    assert text.count(f"camera '{FRAMES[2]}': waiting for /tf_static") <= 1, text
    assert f"camera '{FRAMES[0]}': pose from /tf_static (room -> rig -> {FRAMES[0]})" in text
    refusals = [line for line in text.splitlines() if "refused" in line]
    assert len(refusals) == 1, text
    assert "ERROR" in refusals[0]
    assert f"camera '{FRAMES[2]}': refused: its chain from 'room' goes through a transform published on /tf" \
        in refusals[0]
    warnings = [line for line in text.splitlines() if "WARN" in line and "no camera_info on" not in line]
    assert warnings == [], text  # (a camera_info may come seconds after the first poses on a loaded machine)
    assert all(FRAMES[2] not in m.cameras for m in people)  # the moving camera's poses are never used
    # with cam1's pose composed through the rig, cam1 and cam2 triangulate the person where it stands
    both = [m for m in people[before:] if list(m.cameras) == FRAMES[:2]]
    truth = standing_person((0.3, -0.2), 0.5)
    for msg in both:
        (fused,) = msg.people
        joints = np.array([[j.position.x, j.position.y, j.position.z] for j in fused.joints])
        assert np.abs(joints - truth).max() < 0.02
    # tracked ids: one message per people message, same stamp, the ids published and their body frames
    by_stamp = {(m.header.stamp.sec, m.header.stamp.nanosec): m for m in tracked}
    for msg in both:
        ids = by_stamp[(msg.header.stamp.sec, msg.header.stamp.nanosec)]
        assert ids.header.frame_id == "room"
        assert list(ids.ids) == [p.id for p in msg.people if p.id >= 1]
        assert list(ids.frame_ids) == [f"body_{i}" for i in ids.ids]
    assert all(list(ids.ids) for ids in by_stamp.values() if ids.header.stamp == both[-1].header.stamp)
    # the node publishes no camera on /tf_static itself: every static message heard is one of the test's
    assert statics
    assert {t.child_frame_id for msg in statics for t in msg.transforms} == {*FRAMES, "rig"}


def test_a_calibration_file_with_camera_poses_from_tf_is_refused(tmp_path: Path, ros_env: dict) -> None:
    log = tmp_path / "fusion.log"
    assert start_fusion_node(ros_env, log, camera_poses_from_tf=True, calibration=tmp_path / "room.yaml",
                             world_frame="room", camera_frames=FRAMES, camera_info_topics=INFOS).wait(60) == 1
    fatal = [line for line in log.read_text().splitlines() if "FATAL" in line]
    assert len(fatal) == 1, log.read_text()
    assert "parameter 'calibration': camera_poses_from_tf takes the cameras from TF" in fatal[0]
