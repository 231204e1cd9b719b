"""RViz skeleton markers: DELETEALL first, then bones, joints and an identity label per person, one
colour per identity; unplaced joints left out; the fallback placement at marker_depth."""

from __future__ import annotations

import numpy as np
import pytest
from ros_tools.sample_poses import sample_frame_poses
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import FrameResult, PersonResult
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.ros.markers import UP_WORLD, SkeletonToDraw, frame_markers, skeleton_markers
from orpose_ros.skeleton import COCO_SKELETON, H36M_SKELETON, coco_pelvis, track_colour

pytestmark = pytest.mark.ros


def _header() -> Header:
    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 42, 7
    return header


def test_markers_of_a_frame() -> None:
    rng = np.random.default_rng(0)
    ahead = np.array([0.0, 0.0, 3.0])
    people = [SkeletonToDraw(track_id, rng.normal(size=(17, 3)) + ahead, H36M_SKELETON) for track_id in (4, 9)]
    markers = skeleton_markers(_header(), "camera/image_raw", people).markers
    assert markers[0].action == Marker.DELETEALL
    assert markers[0].ns == "camera/image_raw"
    assert len(markers) == 1 + 3 * 2
    for m in markers:
        assert (m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id) == (42, 7, "cam_optical")
        assert m.ns == "camera/image_raw"
    for i, person in enumerate(people):
        bones, joints, label = markers[1 + 3 * i: 4 + 3 * i]
        assert [(m.type, m.id) for m in (bones, joints, label)] == [
            (Marker.LINE_LIST, 3 * i), (Marker.SPHERE_LIST, 3 * i + 1), (Marker.TEXT_VIEW_FACING, 3 * i + 2)]
        assert len(bones.points) == 2 * len(H36M_SKELETON)
        assert len(joints.points) == 17
        np.testing.assert_allclose([[p.x, p.y, p.z] for p in joints.points], person.joints)
        assert (joints.color.r, joints.color.g, joints.color.b) == pytest.approx(track_colour(person.id))
        assert label.text == f"id {person.id}"
        top = person.joints[np.argmin(person.joints[:, 1])]  # y points down in a camera frame
        assert label.pose.position.y == pytest.approx(top[1] - 0.25)
    assert markers[2].color != markers[5].color  # one colour per identity


def test_unplaced_joints_and_their_bones_are_left_out() -> None:
    joints = np.tile([0.0, 0.0, 1.0], (17, 1)) + np.arange(17)[:, None] * 0.01
    joints[[0, 5]] = np.nan  # nose and left shoulder unknown
    (bones, spheres, label) = skeleton_markers(_header(), "room", [SkeletonToDraw(1, joints, COCO_SKELETON)],
                                               up=UP_WORLD).markers[1:]
    kept_bones = [b for b in COCO_SKELETON if 0 not in b and 5 not in b]
    assert len(bones.points) == 2 * len(kept_bones)
    assert len(spheres.points) == 15
    assert label.pose.position.z == pytest.approx(np.nanmax(joints[:, 2]) + 0.25)  # z points up in the room


def test_an_empty_frame_still_clears_the_old_skeletons() -> None:
    nobody = SkeletonToDraw(3, np.full((17, 3), np.nan), H36M_SKELETON)
    markers = skeleton_markers(_header(), "cam", [nobody]).markers
    assert [m.action for m in markers] == [Marker.DELETEALL]


def test_placed_people_are_drawn_where_placed_the_others_at_the_marker_depth() -> None:
    poses = sample_frame_poses(2)
    camera = PinholeCamera.nominal("cam", 640, 480, 60.0)
    placed_joints = np.full((17, 3), 2.0)
    people = [CameraPerson(1, True, "skeleton", placed_joints[0], placed_joints, 1.0),
              CameraPerson(2, False, "", np.full(3, np.nan), np.full((17, 3), np.nan), float("nan"))]
    result = FrameResult(0, "/cam/image_raw", "cam", 640, 480, 12, camera, True,
                         tuple(PersonResult(d, p) for d, p in zip(poses.persons, people, strict=True)))
    drawn = result.skeletons_to_draw(4.0)
    np.testing.assert_array_equal(drawn[0][1], placed_joints)
    unplaced = poses.persons[1]
    anchor = camera.back_project(coco_pelvis(unplaced.keypoints_2d.astype(float))[:2], 4.0)
    np.testing.assert_allclose(drawn[1][1], unplaced.keypoints_3d + anchor, atol=1e-6)
    assert drawn[1][1][0, 2] == pytest.approx(4.0)  # the pelvis at the marker depth
    assert [person_id for person_id, _ in drawn] == [1, 2]
    markers = frame_markers(result, _header(), 4.0).markers
    assert {m.ns for m in markers} == {"cam/image_raw"}
    label_ids = [m.text for m in markers if m.type == Marker.TEXT_VIEW_FACING]
    assert label_ids == ["id 1", "id 2"]
