"""TF (tf2_msgs/TFMessage) from the calibration and the fused people: pure builders, no broadcaster.

- cameras, static (for /tf_static: transient local, all static transforms in one message): the world frame
  -> each camera's optical frame (``frame_id`` of the calibration, else the camera's name), its
  T_world_from_camera;
- people (for /tf): the world frame -> ``body_<id>`` of every person with an identity (id >= 1) whose body
  frame can be built (`geometry.body_frame`, REP 155: origin at the hip centre, z up, x forward), stamped
  with the people's stamp (the measurement's, never now); optionally ``body_<id>`` -> ``body_<id>_<joint>``
  for each placed joint (COCO-17 names; translation only).

tf2_msgs is not on PyPI: ROS installs have it; this project's tests build its real definition from
test/interfaces (never installed for users). Importing this module needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Transform, TransformStamped
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.fusion.tracking import published_id
from orpose_ros.geometry.body_frame import Z_UP, body_pose
from orpose_ros.geometry.calibration import RoomCalibration
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES


def body_frame_id(person_id: int) -> str:
    """REP 155's name of the body frame of person ``person_id`` (a published id, >= 1)."""
    return f"body_{person_id}"


def joint_frame_id(person_id: int, joint: str) -> str:
    """The frame of one COCO-17 joint of person ``person_id``, a child of its body frame."""
    return f"body_{person_id}_{joint}"


def transform_msg(T_parent_from_child: np.ndarray) -> Transform:
    """A (4, 4) rigid transform [m] as geometry_msgs/Transform (quaternion x, y, z, w)."""
    T = np.asarray(T_parent_from_child, dtype=np.float64)
    msg = Transform()
    msg.translation.x, msg.translation.y, msg.translation.z = (float(v) for v in T[:3, 3])
    x, y, z, w = Rotation.from_matrix(T[:3, :3]).as_quat()
    msg.rotation.x, msg.rotation.y, msg.rotation.z, msg.rotation.w = float(x), float(y), float(z), float(w)
    return msg


def _stamped(stamp: Time, parent: str, child: str, T: np.ndarray) -> TransformStamped:
    return TransformStamped(header=Header(stamp=stamp, frame_id=parent), child_frame_id=child,
                            transform=transform_msg(T))


def camera_transforms(calibration: RoomCalibration, stamp: Time) -> TFMessage:
    """The static transforms world frame -> each camera's optical frame (one message, for /tf_static)."""
    return TFMessage(transforms=[
        _stamped(stamp, calibration.world_frame, camera.frame_id or camera.name, camera.T_world_from_camera)
        for camera in calibration.cameras])


def people_transforms(header: Header, people: Sequence[FusedPerson], joints: bool = False,
                      up: np.ndarray = Z_UP) -> TFMessage:
    """The body frames of ``people`` (and with ``joints`` their joints' frames), stamped with ``header`` (the
    people message's: world frame and the measurement's stamp); ``up``: the world's up (unit vector)."""
    transforms = []
    for person in people:
        person_id = published_id(person.id)
        T_world_from_body = body_pose(person.joints, up) if person_id >= 1 else None
        if T_world_from_body is None:
            continue
        body = body_frame_id(person_id)
        transforms.append(_stamped(header.stamp, header.frame_id, body, T_world_from_body))
        if not joints:
            continue
        T_body_from_world = np.linalg.inv(T_world_from_body)
        for name, xyz in zip(COCO_KEYPOINT_NAMES, person.joints, strict=True):
            if np.all(np.isfinite(xyz)):
                T = np.eye(4)
                T[:3, 3] = T_body_from_world[:3, :3] @ xyz + T_body_from_world[:3, 3]
                transforms.append(_stamped(header.stamp, body, joint_frame_id(person_id, name), T))
    return TFMessage(transforms=transforms)
