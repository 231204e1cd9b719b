"""The people in the room (fused, tracked) -> visualization_msgs/MarkerArray: one colour per identity, people
the tracker only predicts (occluded for less than the track's max age) faded."""

from __future__ import annotations

from collections.abc import Sequence

from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from orpose_ros.fusion.motion import TrackingState
from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.fusion.tracking import published_id
from orpose_ros.ros.markers import UP_WORLD, SkeletonToDraw, skeleton_markers
from orpose_ros.skeleton import COCO_SKELETON

#: Opacity of a predicted person's skeleton (measured people: 1).
PREDICTED_ALPHA = 0.35
NAMESPACE = "people"


def people_markers(header: Header, people: Sequence[FusedPerson]) -> MarkerArray:
    """Markers of one moment's people in the world frame of ``header`` (namespace ``people``)."""
    drawn = [SkeletonToDraw(published_id(p.id), p.joints, COCO_SKELETON,
                            PREDICTED_ALPHA if p.motion is not None and p.motion.state == TrackingState.PREDICTED
                            else 1.0)
             for p in people]
    return skeleton_markers(header, NAMESPACE, drawn, up=UP_WORLD)
