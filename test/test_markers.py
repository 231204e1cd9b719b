"""RViz skeleton markers: DELETEALL first, one bone list and one joint list per person, placed in 3D."""

from __future__ import annotations

import numpy as np
import pytest
from ros_tools.sample_poses import sample_frame_poses
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from orpose_ros.projection import Intrinsics
from orpose_ros.ros.markers import skeleton_markers
from orpose_ros.skeleton import H36M_SKELETON, coco_pelvis

pytestmark = pytest.mark.ros


def test_markers_of_a_frame() -> None:
    poses = sample_frame_poses(3)
    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 42, 7
    cam = Intrinsics.from_horizontal_fov(640, 480, 60.0)
    markers = skeleton_markers(poses, header, "camera/image_raw", cam, marker_depth=4.0).markers

    assert markers[0].action == Marker.DELETEALL and markers[0].ns == "camera/image_raw"
    assert len(markers) == 1 + 2 * 3
    for m in markers:
        assert (m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id) == (42, 7, "cam_optical")
        assert m.ns == "camera/image_raw"
    for i, person in enumerate(poses.persons):
        bones, joints = markers[1 + 2 * i], markers[2 + 2 * i]
        assert (bones.type, bones.id) == (Marker.LINE_LIST, 2 * i)
        assert (joints.type, joints.id) == (Marker.SPHERE_LIST, 2 * i + 1)
        assert len(bones.points) == len(bones.colors) == 2 * len(H36M_SKELETON)
        assert len(joints.points) == len(joints.colors) == 17
        anchor = cam.back_project(*(float(v) for v in coco_pelvis(person.keypoints_2d)[:2]), 4.0)
        placed = np.array([[p.x, p.y, p.z] for p in joints.points])
        np.testing.assert_allclose(placed, person.keypoints_3d + anchor, atol=1e-6)
        assert placed[0, 2] == 4.0  # pelvis at the marker depth
        colours = {(c.r, c.g, c.b, c.a) for c in joints.colors}
        assert len(colours) == 3  # left, right, centre
        assert all(0.0 <= v <= 1.0 for colour in colours for v in colour)


def test_an_empty_frame_still_clears_the_old_skeletons() -> None:
    poses = sample_frame_poses(0)
    markers = skeleton_markers(poses, Header(), "cam", Intrinsics.from_horizontal_fov(64, 48, 60.0), 3.0).markers
    assert [m.action for m in markers] == [Marker.DELETEALL]
