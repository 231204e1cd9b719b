"""One camera of orpose_node, as the ROS layer sees it: its topics, turning its messages into frames,
its restore rule and its statistics, around the ROS-free `CameraPipeline` (camera model, people).

Threads: the executor thread runs the image and camera_info callbacks: it replaces
``pipeline.models.info_camera`` whole (one reference assignment) and counts input events
(``stats.input_rate``, ``stats.info_rejected``). The inference worker thread alone calls `decode`,
`restore_to` and the pipeline, and counts its own events (``stats.rejected``,
``stats.processed_rate``). Each counter has one writer, the rate meters lock, and the 1 Hz
diagnostics only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from orpose_ros.camera_pipeline import CameraPipeline
from orpose_ros.geometry.camera import DISTORTION_LENGTHS, CameraModelError, PinholeCamera
from orpose_ros.privacy import RestoreSize
from orpose_ros.ros.diagnostics import CameraStats
from orpose_ros.ros.image_conversion import compressed_msg_to_bgr, image_msg_to_bgr
from orpose_ros.topics import is_compressed

#: camera_info distortion models whose coefficients are OpenCV's (k1, k2, p1, p2[, k3...]).
OPENCV_DISTORTION_MODELS = ("plumb_bob", "rational_polynomial")


class CameraInputError(ValueError):
    """A message of this camera that cannot be used; the message says why (one line)."""


def camera_from_camera_info(msg: CameraInfo, name: str) -> PinholeCamera:
    """The validated camera model of a CameraInfo (at its resolution); CameraInputError naming the bad field.

    Distortion is used for the plumb_bob and rational_polynomial models; other models are treated
    as undistorted.
    """
    if msg.width <= 0 or msg.height <= 0:
        raise CameraInputError(f"image size {msg.width}x{msg.height} is not positive")
    k = np.asarray(msg.k, dtype=float)
    if k.shape != (9,) or not np.all(np.isfinite(k)):
        raise CameraInputError(f"K has non-finite values: {k.tolist()}")
    d = np.asarray(msg.d, dtype=float)
    distortion = d if msg.distortion_model in OPENCV_DISTORTION_MODELS and d.size in DISTORTION_LENGTHS else ()
    try:
        return PinholeCamera.from_k(name, k, msg.width, msg.height, distortion)
    except CameraModelError as error:
        raise CameraInputError(str(error).removeprefix(f"camera {name!r}: ")) from None


@dataclass
class CameraInput:
    """One subscribed camera of orpose_node (see the module doc for which thread touches what).

    Attributes:
        index: its position in the ``image_topics`` parameter.
        topic, info_topic: its image topic and its camera_info topic ('' without).
        pipeline: its camera model and its people over time.
        fixed_restore: (height, width) its frames are restored to when they arrive shrunk.
        restore_from_info: ... or they are restored to the size of the latest valid camera_info.
    """

    index: int
    topic: str
    info_topic: str
    pipeline: CameraPipeline
    fixed_restore: RestoreSize = None
    restore_from_info: bool = False
    stats: CameraStats = field(default_factory=CameraStats)

    @property
    def compressed(self) -> bool:
        return is_compressed(self.topic)

    def update_info(self, msg: CameraInfo) -> None:
        """Take the camera model of a camera_info; CameraInputError (and nothing changes) when invalid."""
        self.pipeline.models.info_camera = camera_from_camera_info(msg, self.pipeline.models.name)

    def restore_to(self) -> RestoreSize:
        """Where this camera's frames are restored to; CameraInputError while a camera_info is awaited."""
        if not self.restore_from_info:
            return self.fixed_restore
        info = self.pipeline.models.info_camera
        if info is None:
            raise CameraInputError(f"waiting for a valid camera_info on {self.info_topic} to know the size "
                                   "to restore shrunk frames to")
        return info.height, info.width

    def decode(self, msg: Image | CompressedImage) -> np.ndarray:
        """(H, W, 3) uint8 BGR pixels of a message; UnsupportedImageError when it cannot be read."""
        return compressed_msg_to_bgr(msg) if self.compressed else image_msg_to_bgr(msg)

    def describe(self, msg: Image | CompressedImage) -> str:
        """A few words on a message for log lines: encoding and size."""
        if self.compressed:
            return f"{msg.format}, {len(msg.data)} bytes"
        return f"{msg.encoding} {msg.width}x{msg.height}"
