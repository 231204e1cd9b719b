"""The fusion node's cameras without a calibration file: poses from static TF, intrinsics from camera_info.

Declared here once (`parameter`), listed in `FusionConfig` beside ``calibration``; `TfCamerasGroup` checks
them against ``calibration`` (one or the other, never both: nothing given is ignored) and builds the
`RoomCalibration` the node starts from: every camera a `PendingCamera` named by its optical frame, with a
placeholder pose until its chain of static transforms arrives (`ros.tf_camera_poses`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from orpose_ros.geometry.calibration import FloorPlane, PendingCamera, RoomCalibration
from orpose_ros.ros.parameters import ConfigError, parameter

#: The source of a calibration built from these parameters (for messages).
SOURCE = "parameters (camera_poses_from_tf)"


def camera_poses_from_tf() -> Any:
    return parameter(False, "Cameras without a calibration file: each camera of camera_frames placed by the chain "
                     "of static transforms (/tf_static) from world_frame to its frame, intrinsics from its "
                     "camera_info; calibration must then be ''. Moving cameras (/tf) are refused.")


def world_frame() -> Any:
    return parameter("", "With camera_poses_from_tf: the world frame (z up) people are placed in; the floor is its "
                     "plane z = 0.")


def camera_frames() -> Any:
    return parameter(("",), "With camera_poses_from_tf: each camera's optical frame (x right, y down, z forward), "
                     "also its name; its poses are matched by header frame_id unless camera_image_topics are given.")


def camera_info_topics() -> Any:
    return parameter(("",), "With camera_poses_from_tf: the sensor_msgs/CameraInfo topic of each camera of "
                     "camera_frames, in the same order.")


def camera_image_topics() -> Any:
    return parameter(("",), "With camera_poses_from_tf: the image topic of each camera of camera_frames (a pose "
                     "message's source_topic), in the same order; [''] = match poses by header frame_id.")


class TfCamerasGroup:
    """The checks and the start calibration of a config that declares the parameters above."""

    calibration: str
    camera_poses_from_tf: bool
    world_frame: str
    camera_frames: tuple[str, ...]
    camera_info_topics: tuple[str, ...]
    camera_image_topics: tuple[str, ...]

    def check_cameras(self) -> None:
        """Either a calibration file or camera_poses_from_tf with complete camera lists; ConfigError (one line)."""
        tf_names = ("world_frame", "camera_frames", "camera_info_topics", "camera_image_topics")
        if not self.camera_poses_from_tf:
            if not self.calibration:
                raise ConfigError("parameter 'calibration': '' is empty; expected a calibration file, or "
                                  "camera_poses_from_tf true with world_frame, camera_frames and camera_info_topics")
            given = [name for name in tf_names if any(_as_tuple(getattr(self, name)))]
            if given:
                raise ConfigError(f"parameters {given}: only used with camera_poses_from_tf (the calibration file "
                                  "gives the cameras); expected them unset, or camera_poses_from_tf true and no "
                                  "calibration")
            return
        if self.calibration:
            raise ConfigError("parameter 'calibration': camera_poses_from_tf takes the cameras from TF and "
                              "camera_info, so a calibration file would be ignored; expected '' (or "
                              "camera_poses_from_tf false)")
        if not self.world_frame:
            raise ConfigError("parameter 'world_frame': '' is empty; expected the world frame of the TF tree "
                              "(with camera_poses_from_tf)")
        frames = self.camera_frames
        if not all(frames) or len(set(frames)) != len(frames) or self.world_frame in frames:
            raise ConfigError(f"parameter 'camera_frames': {list(frames)} must list distinct non-empty frames, not "
                              "the world frame; expected each camera's optical frame (with camera_poses_from_tf)")
        for name, values, optional in (("camera_info_topics", self.camera_info_topics, False),
                                       ("camera_image_topics", self.camera_image_topics, True)):
            if optional and values == ("",):
                continue
            if len(values) != len(frames) or not all(values) or len(set(values)) != len(values):
                raise ConfigError(f"parameter '{name}': {list(values)} for {len(frames)} camera frame(s); expected "
                                  f"one distinct topic per camera frame, in the same order"
                                  + (", or ['']" if optional else ""))

    def tf_calibration(self) -> RoomCalibration:
        """The cameras of camera_frames, all waiting for their pose and intrinsics (identity pose until known)."""
        images = self.camera_image_topics if self.camera_image_topics != ("",) else ("",) * len(self.camera_frames)
        cameras = [PendingCamera(frame, np.eye(4), image_topic=image, camera_info_topic=info, frame_id=frame)
                   for frame, info, image in zip(self.camera_frames, self.camera_info_topics, images, strict=True)]
        return RoomCalibration(self.world_frame, tuple(cameras), FloorPlane.horizontal(0.0), SOURCE)


def _as_tuple(value: object) -> tuple:
    return value if isinstance(value, tuple) else (value,)
