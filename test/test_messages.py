"""orpose_msgs: constants agree with the Python skeleton, and a message crosses processes intact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ros_tools import processes
from ros_tools.sample_poses import FRAME_ID, STAMP, sample_frame_poses, sample_placements

from orpose_msgs.msg import PersonPose
from orpose_ros import skeleton
from orpose_ros.poses import DetectedPerson
from orpose_ros.ros.pose_messages import person_to_msg

pytestmark = pytest.mark.ros

TOOLS = Path(processes.__file__).parent


def _edges(text: str, names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    return tuple(tuple(names.index(name) for name in pair.split("-")) for pair in text.split(","))


def test_message_constants_match_the_python_skeleton() -> None:
    assert tuple(PersonPose.COCO_KEYPOINT_NAMES.split(",")) == skeleton.COCO_KEYPOINT_NAMES
    assert tuple(PersonPose.H36M_JOINT_NAMES.split(",")) == skeleton.H36M_JOINT_NAMES
    assert _edges(PersonPose.COCO_SKELETON, skeleton.COCO_KEYPOINT_NAMES) == skeleton.COCO_SKELETON
    assert _edges(PersonPose.H36M_SKELETON, skeleton.H36M_JOINT_NAMES) == skeleton.H36M_SKELETON
    for i, name in enumerate(skeleton.COCO_KEYPOINT_NAMES):
        assert getattr(PersonPose, f"COCO_{name.upper()}") == i
    for i, name in enumerate(skeleton.H36M_JOINT_NAMES):
        assert getattr(PersonPose, f"H36M_{name.upper()}") == i
    assert PersonPose.NUM_COCO_KEYPOINTS == PersonPose.NUM_H36M_JOINTS == 17


def test_a_dropped_joint_is_refused_before_it_reaches_the_serializer() -> None:
    msg = PersonPose(check_fields=True)
    assert len(msg.keypoints_2d) == 17
    assert len(msg.keypoints_3d) == 17
    with pytest.raises(AssertionError):
        msg.keypoints_3d = msg.keypoints_3d[:16]
    person = sample_frame_poses(1).persons[0]
    short = DetectedPerson(person.score, person.bbox, person.keypoints_2d[:16], person.keypoints_3d)
    with pytest.raises(ValueError, match=r"keypoints_2d must have shape \(17, 3\)"):
        person_to_msg(short)


@pytest.mark.timeout(120)
def test_pose_message_with_three_people_crosses_processes_intact(tmp_path: Path, ros_env: dict) -> None:
    out = tmp_path / "poses.json"
    recorder = processes.record("/orpose/poses", "orpose_msgs/msg/PersonPoseArray", out, ros_env, timeout=60)
    publisher = processes.start([str(TOOLS / "publish_sample_poses.py"), "/orpose/poses", "--duration", "60"],
                                ros_env, tmp_path / "publisher.log")
    try:
        assert processes.wait_for(recorder, 90) == 0, (tmp_path / "poses.log").read_text()
    finally:
        processes.stop(publisher)
    (msg,) = processes.read_records(out)
    expected = sample_frame_poses()

    assert msg["header"] == {"stamp": {"sec": STAMP[0], "nanosec": STAMP[1]}, "frame_id": FRAME_ID}
    assert (msg["image_width"], msg["image_height"], msg["downsample_factor"]) == (640, 480, 12)
    assert msg["source_topic"] == "/camera/image_raw"
    assert len(msg["persons"]) == 3
    placements = sample_placements()
    for got, want, where in zip(msg["persons"], expected.persons, placements, strict=True):
        assert got["id"] == where.id
        assert got["score"] == pytest.approx(want.score, abs=1e-6)
        np.testing.assert_allclose(got["bbox"], want.bbox, atol=1e-4)
        kp2d = np.array([[k["x"], k["y"], k["score"]] for k in got["keypoints_2d"]])
        kp3d = np.array([[p["x"], p["y"], p["z"]] for p in got["keypoints_3d"]])
        assert kp2d.shape == kp3d.shape == (17, 3)
        np.testing.assert_allclose(kp2d, want.keypoints_2d, atol=1e-4)
        np.testing.assert_allclose(kp3d, want.keypoints_3d, atol=1e-6)
        placed = np.array([[p["x"], p["y"], p["z"]] for p in got["keypoints_3d_camera"]])
        position = [got["position"][k] for k in "xyz"]
        if where.placed:
            assert got["placement"] == (PersonPose.PLACEMENT_SKELETON if where.method == "skeleton"
                                        else PersonPose.PLACEMENT_FLOOR)
            np.testing.assert_allclose(placed, where.joints_h36m)
            np.testing.assert_allclose(position, where.pelvis)
            assert got["placement_error"] == pytest.approx(where.residual_px)
            assert got["tracking_state"] == PersonPose.TRACKING_MEASURED
            assert [got["velocity"][k] for k in "xyz"] == where.motion.velocity.tolist()
        else:
            assert got["placement"] == PersonPose.PLACEMENT_NONE
            assert np.isnan(placed).all()
            assert np.isnan(position).all()
            assert np.isnan(got["placement_error"])
            assert got["tracking_state"] == PersonPose.TRACKING_NEW  # tracked, not placed: no metric velocity
            assert np.isnan([got["velocity"][k] for k in "xyz"]).all()
        assert got["time_since_measured"] == 0.0
