"""Plain results -> orpose_msgs: a camera frame's people (PersonPoseArray, stamped with the source
header) and the people located in the room (People3D)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import Header

from orpose_msgs.msg import Joint3D, Keypoint2D, People3D, Person3D, PersonPose, PersonPoseArray
from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import FrameResult
from orpose_ros.fusion.motion import TrackingState
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.fusion.tracking import published_id
from orpose_ros.fusion.uncertainty import largest_sigma_m
from orpose_ros.geometry.placement import PlacementMethod
from orpose_ros.poses import DetectedPerson

_PLACEMENTS = {"": PersonPose.PLACEMENT_NONE, PlacementMethod.SKELETON: PersonPose.PLACEMENT_SKELETON,
               PlacementMethod.FLOOR: PersonPose.PLACEMENT_FLOOR,
               PlacementMethod.SKELETON_FLOOR: PersonPose.PLACEMENT_FLOOR}


_TRACKING = {TrackingState.NEW: Person3D.TRACKING_NEW, TrackingState.MEASURED: Person3D.TRACKING_MEASURED,
             TrackingState.PREDICTED: Person3D.TRACKING_PREDICTED}
#: A camera's people are all measured now (PersonPose.msg): PREDICTED is never sent there.
_CAMERA_TRACKING = {TrackingState.NEW: PersonPose.TRACKING_NEW, TrackingState.MEASURED: PersonPose.TRACKING_MEASURED}
_NAN9 = [float("nan")] * 9


def _points(rows: np.ndarray) -> list[Point]:
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in rows]


def person_to_msg(person: DetectedPerson, placed: CameraPerson | None = None) -> PersonPose:
    """One person of a camera frame, with its identity and placement when given.

    Raises ValueError unless the keypoint arrays are (17, 3) and the box has 4 values: the fixed-size
    arrays of PersonPose are not checked on assignment by default and a wrong length crashes the
    serializer (segfault).
    """
    for name, array, shape in (("keypoints_2d", person.keypoints_2d, (17, 3)),
                               ("keypoints_3d", person.keypoints_3d, (17, 3)), ("bbox", person.bbox, (4,))):
        if np.shape(array) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {np.shape(array)}")
    msg = PersonPose()
    msg.score = float(person.score)
    msg.bbox = [float(v) for v in person.bbox]
    msg.keypoints_2d = [Keypoint2D(x=float(x), y=float(y), score=float(s)) for x, y, s in person.keypoints_2d]
    msg.keypoints_3d = _points(person.keypoints_3d)
    if placed is None:
        placed = CameraPerson.unplaced()
    msg.id = max(placed.id, 0)
    msg.placement = _PLACEMENTS[placed.method]
    msg.position = _points(placed.pelvis[None])[0]
    msg.keypoints_3d_camera = _points(placed.joints_h36m)
    msg.placement_error = float(placed.residual_px)
    state = placed.tracking_state
    msg.tracking_state = PersonPose.TRACKING_UNKNOWN if state is None else _CAMERA_TRACKING[state]
    msg.time_since_measured = placed.since_measured_s
    x, y, z = (float(v) for v in placed.velocity)
    msg.velocity = Vector3(x=x, y=y, z=z)
    return msg


def frame_result_to_msg(result: FrameResult, header: Header) -> PersonPoseArray:
    """The /orpose/poses message of one processed frame; ``header`` is the source image's, copied as is."""
    msg = PersonPoseArray()
    msg.header = header
    msg.source_topic = result.source
    msg.image_width = result.width
    msg.image_height = result.height
    msg.downsample_factor = result.downsample_factor
    msg.persons = [person_to_msg(person.detection, person.location) for person in result.people]
    return msg


def fused_person_to_msg(person: FusedPerson) -> Person3D:
    """One person located in the room (world frame)."""
    msg = Person3D()
    msg.id = published_id(person.id)
    msg.score = float(person.score)
    msg.placement = Person3D.PLACEMENT_TRIANGULATED if person.placement == TRIANGULATED else \
        Person3D.PLACEMENT_SINGLE_VIEW
    msg.joints = [
        Joint3D(position=point, confidence=float(c), views=int(v), reprojection_error=float(e))
        for point, c, v, e in zip(_points(person.joints), person.confidence, person.num_views,
                                  person.reprojection_error_px, strict=True)
    ]
    if person.joint_covariance is not None:
        for joint, covariance, sigma in zip(msg.joints, person.joint_covariance,
                                            largest_sigma_m(person.joint_covariance), strict=True):
            joint.covariance = covariance.ravel().tolist()
            joint.uncertainty = float(sigma)
    else:
        for joint in msg.joints:
            joint.covariance, joint.uncertainty = _NAN9, float("nan")
    msg.cameras = list(person.cameras)
    msg.detection_indices = [int(i) for i in person.detection_indices]
    motion = person.motion
    if motion is None:
        msg.tracking_state, msg.time_since_measured = Person3D.TRACKING_UNKNOWN, float("nan")
        msg.centre = _points(np.full((1, 3), np.nan))[0]
        msg.velocity = Vector3(x=float("nan"), y=float("nan"), z=float("nan"))
        msg.centre_covariance = msg.velocity_covariance = _NAN9
        return msg
    msg.tracking_state = _TRACKING[motion.state]
    msg.time_since_measured = float(motion.since_measured_s)
    msg.centre = _points(motion.centre[None])[0]
    msg.velocity = Vector3(x=float(motion.velocity[0]), y=float(motion.velocity[1]), z=float(motion.velocity[2]))
    msg.centre_covariance = np.asarray(motion.centre_covariance, dtype=float).ravel().tolist()
    msg.velocity_covariance = np.asarray(motion.velocity_covariance, dtype=float).ravel().tolist()
    return msg


def people_to_msg(people: Sequence[FusedPerson], header: Header, cameras: Sequence[str],
                  missing: Sequence[str]) -> People3D:
    """The people of one group of frames; ``header``: the world frame and the group's stamp."""
    return People3D(header=header, cameras=list(cameras), missing_cameras=list(missing),
                    people=[fused_person_to_msg(p) for p in people])
