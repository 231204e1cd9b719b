"""3D skeletons -> visualization_msgs/MarkerArray for RViz, one colour per identity.

Per namespace (one per camera, or the room): a DELETEALL scoped to it (RViz2 honours the namespace
of DELETEALL), then per person i a LINE_LIST of bones (id 3i), a SPHERE_LIST of joints (id 3i + 1)
and a TEXT_VIEW_FACING label with its identity above it (id 3i + 2). Joints that are NaN (not
placed) are left out, with the bones that touch them. Coordinates are in the header's frame [m].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from orpose_ros.camera_pipeline import FrameResult
from orpose_ros.skeleton import H36M_SKELETON, track_colour
from orpose_ros.topics import marker_namespace

BONE_WIDTH_M = 0.02
JOINT_DIAMETER_M = 0.05
LABEL_HEIGHT_M = 0.15
LABEL_ABOVE_M = 0.25
#: "Up" in a camera optical frame (y points down) and in a world frame whose z points up.
UP_CAMERA = np.array([0.0, -1.0, 0.0])
UP_WORLD = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class SkeletonToDraw:
    """One person to draw: identity (0 = untracked), (J, 3) joints [m] with NaN where unknown, bones, and the
    opacity of its colour (1 = opaque; lower: faded, e.g. a predicted person)."""

    id: int
    joints: np.ndarray
    bones: tuple[tuple[int, int], ...]
    alpha: float = 1.0


def skeleton_markers(header: Header, namespace: str, people: Sequence[SkeletonToDraw],
                     up: np.ndarray = UP_CAMERA) -> MarkerArray:
    """Markers of one frame's people, stamped with ``header``; ``up`` places the labels above them."""
    markers = [Marker(header=header, ns=namespace, action=Marker.DELETEALL)]
    for i, person in enumerate(people):
        joints = np.asarray(person.joints, dtype=float)
        placed = np.all(np.isfinite(joints), axis=1)
        if not placed.any():
            continue
        r, g, b = track_colour(person.id)
        colour = ColorRGBA(r=r, g=g, b=b, a=float(person.alpha))
        markers.append(_bones(header, namespace, 3 * i, joints, placed, person.bones, colour))
        markers.append(_joints(header, namespace, 3 * i + 1, joints[placed], colour))
        markers.append(_label(header, namespace, 3 * i + 2, joints[placed], person.id, up, colour))
    return MarkerArray(markers=markers)


def frame_markers(result: FrameResult, header: Header, fallback_depth_m: float) -> MarkerArray:
    """The /orpose/markers of one processed frame: its people in the camera frame (see
    `FrameResult.skeletons_to_draw`), in the camera's namespace."""
    people = [SkeletonToDraw(person_id, joints, H36M_SKELETON)
              for person_id, joints in result.skeletons_to_draw(fallback_depth_m)]
    return skeleton_markers(header, marker_namespace(result.source), people)


def _point(xyz: np.ndarray) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def _marker(header: Header, namespace: str, marker_id: int, kind: int) -> Marker:
    marker = Marker(header=header, ns=namespace, id=marker_id, type=kind, action=Marker.ADD)
    marker.pose.orientation.w = 1.0
    return marker


def _bones(header: Header, namespace: str, marker_id: int, joints: np.ndarray, placed: np.ndarray,
           bones: Sequence[tuple[int, int]], colour: ColorRGBA) -> Marker:
    marker = _marker(header, namespace, marker_id, Marker.LINE_LIST)
    marker.scale.x = BONE_WIDTH_M
    marker.color = colour
    marker.points = [_point(joints[j]) for a, b in bones if placed[a] and placed[b] for j in (a, b)]
    return marker


def _joints(header: Header, namespace: str, marker_id: int, joints: np.ndarray, colour: ColorRGBA) -> Marker:
    marker = _marker(header, namespace, marker_id, Marker.SPHERE_LIST)
    marker.scale.x = marker.scale.y = marker.scale.z = JOINT_DIAMETER_M
    marker.color = colour
    marker.points = [_point(xyz) for xyz in joints]
    return marker


def _label(header: Header, namespace: str, marker_id: int, joints: np.ndarray, person_id: int, up: np.ndarray,
           colour: ColorRGBA) -> Marker:
    marker = _marker(header, namespace, marker_id, Marker.TEXT_VIEW_FACING)
    top = joints[np.argmax(joints @ up)]
    marker.pose.position = _point(top + LABEL_ABOVE_M * up)
    marker.scale.z = LABEL_HEIGHT_M
    marker.color = colour
    marker.text = f"id {person_id}" if person_id > 0 else "?"
    return marker
