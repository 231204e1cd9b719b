"""The geometry side of orpose_node: its calibration file, which camera of it a topic is, and what its
markers draw for each person (the placed skeleton, or the fallback at ``marker_depth``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from std_msgs.msg import Header

from orpose_ros.fusion.camera_people import CameraPerson
from orpose_ros.geometry.calibration import AnyCamera, CalibrationError, RoomCalibration
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import FramePoses
from orpose_ros.ros.markers import SkeletonToDraw
from orpose_ros.ros.parameters import ConfigError
from orpose_ros.skeleton import H36M_SKELETON, coco_pelvis


def stamp_seconds(header: Header) -> float:
    """The header's stamp [s]."""
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def load_node_calibration(path: Path | None) -> RoomCalibration | None:
    """The room calibration of the ``calibration`` parameter (None without one); ConfigError when bad."""
    if path is None:
        return None
    try:
        return load_calibration(path)
    except (CalibrationError, OSError, ValueError) as error:
        raise ConfigError(f"parameter 'calibration': {' '.join(str(error).split())}") from None


def calibrated_camera(calibration: RoomCalibration | None, image_topic: str) -> AnyCamera | None:
    """The calibration's camera whose image_topic is ``image_topic`` (also its /compressed form), or None."""
    if calibration is None:
        return None
    bare = image_topic.removesuffix("/compressed")
    return next((c for c in calibration.cameras if c.image_topic in (image_topic, bare)), None)


def skeletons_to_draw(poses: FramePoses, people: Sequence[CameraPerson], camera: PinholeCamera,
                      marker_depth_m: float) -> list[SkeletonToDraw]:
    """The markers' skeletons in the camera frame: each placed skeleton; a person who could not be placed
    has their pelvis-relative skeleton moved to ``marker_depth_m`` along the ray through their 2D pelvis."""
    drawn = []
    for person, where in zip(poses.persons, people, strict=True):
        if where.placed:
            joints = where.joints_h36m
        else:
            anchor = camera.back_project(coco_pelvis(np.asarray(person.keypoints_2d, dtype=float))[:2], marker_depth_m)
            joints = np.asarray(person.keypoints_3d, dtype=float) + anchor
        drawn.append(SkeletonToDraw(where.id, joints, H36M_SKELETON))
    return drawn
