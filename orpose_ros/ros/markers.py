"""FramePoses -> visualization_msgs/MarkerArray: 3D skeletons for RViz.

Per camera (one marker namespace each): a DELETEALL scoped to that namespace (RViz2 honours the
namespace of DELETEALL), then per person i a LINE_LIST of bones (id 2i) and a SPHERE_LIST of joints
(id 2i + 1). Markers live in the image's frame (the camera optical frame: x right, y down,
z forward). The model's 3D is pelvis-relative, so each skeleton is moved to where the person
stands: the 2D pelvis pixel back-projected at ``marker_depth``.
"""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from orpose_ros.poses import FramePoses
from orpose_ros.projection import Intrinsics
from orpose_ros.skeleton import H36M_JOINT_NAMES, H36M_SKELETON, SIDE_COLOURS, bone_side, coco_pelvis, side_of

SIDE_RGBA: dict[str, ColorRGBA] = {side: ColorRGBA(r=r, g=g, b=b, a=1.0) for side, (r, g, b) in SIDE_COLOURS.items()}
BONE_WIDTH_M = 0.02
JOINT_DIAMETER_M = 0.05
def skeleton_markers(
    poses: FramePoses,
    header: Header,
    namespace: str,
    intrinsics: Intrinsics,
    marker_depth: float,
) -> MarkerArray:
    """Markers of one frame; ``intrinsics`` must describe the image size of ``poses``."""
    clear = Marker(header=header, ns=namespace, action=Marker.DELETEALL)
    markers = [clear]
    for i, person in enumerate(poses.persons):
        x, y = coco_pelvis(person.keypoints_2d)[:2]
        anchor = intrinsics.back_project(float(x), float(y), marker_depth)
        joints = np.asarray(person.keypoints_3d, dtype=float) + anchor
        markers.append(_bones(header, namespace, 2 * i, joints))
        markers.append(_joints(header, namespace, 2 * i + 1, joints))
    return MarkerArray(markers=markers)


def _point(xyz: np.ndarray) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def _bones(header: Header, namespace: str, marker_id: int, joints: np.ndarray) -> Marker:
    marker = Marker(header=header, ns=namespace, id=marker_id, type=Marker.LINE_LIST, action=Marker.ADD)
    marker.pose.orientation.w = 1.0
    marker.scale.x = BONE_WIDTH_M
    for edge in H36M_SKELETON:
        colour = SIDE_RGBA[bone_side(H36M_JOINT_NAMES, edge)]
        for joint in edge:
            marker.points.append(_point(joints[joint]))
            marker.colors.append(colour)
    return marker


def _joints(header: Header, namespace: str, marker_id: int, joints: np.ndarray) -> Marker:
    marker = Marker(header=header, ns=namespace, id=marker_id, type=Marker.SPHERE_LIST, action=Marker.ADD)
    marker.pose.orientation.w = 1.0
    marker.scale.x = marker.scale.y = marker.scale.z = JOINT_DIAMETER_M
    marker.points = [_point(xyz) for xyz in joints]
    marker.colors = [SIDE_RGBA[side_of(name)] for name in H36M_JOINT_NAMES]
    return marker
