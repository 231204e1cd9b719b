"""TF (tf2_msgs/TFMessage) from the calibration and the fused people: pure builders, no broadcaster.

- cameras, static (for /tf_static: transient local, all static transforms in one message): the world frame
  -> each camera's optical frame (``frame_id`` of the calibration, else the camera's name), its
  T_world_from_camera;
- people (for /tf): the world frame -> ``body_<id>`` of every person with an identity (id >= 1) whose body
  frame can be built (`geometry.body_frame`, REP 155: origin at the hip centre, z up, x forward), stamped
  with the people's stamp (the measurement's, never now); optionally ``body_<id>`` -> ``<joint>_<id>``
  for each placed joint (COCO-17 names; translation only).

tf2_msgs is not on PyPI: ROS installs have it; this project's tests build its real definition from
test/interfaces (never installed for users). Importing this module needs it.

`transforms_of` reads a TFMessage back (e.g. /tf_static from a calibration tool) as plain transforms.
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
from orpose_ros.geometry.body_frame import Z_UP, body_frame_id, body_pose
from orpose_ros.geometry.calibration import RoomCalibration
from orpose_ros.geometry.transforms import quaternion_norm_problem, rigid_from_translation_quaternion
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES


def joint_frame_id(person_id: int, joint: str) -> str:
    """The frame of one COCO-17 joint of person ``person_id``, a child of its body frame: ``<joint>_<id>``, as
    REP 155 names a body's skeleton frames (e.g. ``left_wrist_3`` under ``body_3``)."""
    return f"{joint}_{person_id}"


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


def transforms_of(msg: TFMessage) -> tuple[list[tuple[str, str, np.ndarray]], list[str]]:
    """The (parent, child, (4, 4) T_parent_from_child [m]) of each transform of ``msg``, and one line per
    transform that is not usable (its quaternion is not a unit one, or a value is not finite)."""
    transforms, problems = [], []
    for t in msg.transforms:
        translation = np.array([t.transform.translation.x, t.transform.translation.y, t.transform.translation.z])
        q = np.array([t.transform.rotation.x, t.transform.rotation.y, t.transform.rotation.z, t.transform.rotation.w])
        rotation_problem = quaternion_norm_problem(q)
        problem = f"rotation {rotation_problem}" if rotation_problem else (
            "" if np.all(np.isfinite(translation)) else "translation has non-finite values")
        if problem:
            problems.append(f"transform {t.header.frame_id!r} -> {t.child_frame_id!r}: {problem}: ignored")
            continue
        transforms.append((t.header.frame_id, t.child_frame_id, rigid_from_translation_quaternion(translation, q)))
    return transforms, problems
