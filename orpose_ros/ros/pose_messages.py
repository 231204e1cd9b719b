"""FramePoses (plain results) -> orpose_msgs/PersonPoseArray, stamped with the source header."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import Header

from orpose_msgs.msg import Keypoint2D, PersonPose, PersonPoseArray
from orpose_ros.poses import DetectedPerson, FramePoses


def person_to_msg(person: DetectedPerson, person_id: int) -> PersonPose:
    """Raises ValueError unless both keypoint arrays are (17, 3) and the box has 4 values.

    The fixed-size arrays of PersonPose are not checked on assignment by default and a wrong
    length crashes the serializer (segfault), so the shapes are checked here.
    """
    for name, array, shape in (("keypoints_2d", person.keypoints_2d, (17, 3)),
                               ("keypoints_3d", person.keypoints_3d, (17, 3)), ("bbox", person.bbox, (4,))):
        if np.shape(array) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {np.shape(array)}")
    msg = PersonPose()
    msg.id = person_id
    msg.score = float(person.score)
    msg.bbox = [float(v) for v in person.bbox]
    msg.keypoints_2d = [Keypoint2D(x=float(x), y=float(y), score=float(s)) for x, y, s in person.keypoints_2d]
    msg.keypoints_3d = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in person.keypoints_3d]
    return msg


def frame_poses_to_msg(poses: FramePoses, header: Header, source_topic: str) -> PersonPoseArray:
    """One message for one processed frame. ``header`` is the source image's, copied as is."""
    msg = PersonPoseArray()
    msg.header = header
    msg.source_topic = source_topic
    msg.image_width = poses.width
    msg.image_height = poses.height
    msg.downsample_factor = poses.downsample_factor
    msg.persons = [person_to_msg(person, i) for i, person in enumerate(poses.persons)]
    return msg
