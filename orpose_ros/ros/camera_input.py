"""One camera of orpose_node: its topics, its camera model (calibration file, camera_info or a nominal
one), its people over time, and turning its messages into frames the model can take. Everything that
can be wrong with one camera is caught here, so that a bad frame or a bad camera_info costs that camera
alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from orpose_ros.fusion.camera_people import CameraPeople
from orpose_ros.geometry.calibration import AnyCamera, PendingCamera
from orpose_ros.geometry.camera import DISTORTION_LENGTHS, CameraModelError, PinholeCamera
from orpose_ros.privacy import RestoreSize
from orpose_ros.ros.diagnostics import CameraStats
from orpose_ros.ros.image_conversion import compressed_msg_to_bgr, image_msg_to_bgr

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
    """State of one camera (fields are replaced whole, never mutated in place, so threads can share it).

    Attributes:
        calibrated: this camera in the room's calibration file (its pose, and its intrinsics unless they
            come from camera_info), or None.
        info_camera: the camera model of its latest valid camera_info, or None.
        people: its people over time (placement, identities).
    """

    index: int
    topic: str
    info_topic: str  # '' without camera_info
    fixed_restore: RestoreSize = None  # frames arrive shrunk and are restored to this size
    restore_from_info: bool = False  # ... or to the size of the latest valid camera_info
    calibrated: AnyCamera | None = None
    stats: CameraStats = field(default_factory=CameraStats)
    info_camera: PinholeCamera | None = None
    people: CameraPeople = field(default_factory=CameraPeople)

    @property
    def compressed(self) -> bool:
        return self.topic.rstrip("/").endswith("/compressed")

    @property
    def namespace(self) -> str:
        """The marker namespace of this camera: its topic without the leading slash."""
        return self.topic.strip("/") or f"camera_{self.index}"

    @property
    def name(self) -> str:
        return self.calibrated.name if self.calibrated is not None else self.namespace

    def update_info(self, msg: CameraInfo) -> None:
        """Take the camera model of a camera_info; CameraInputError (and nothing changes) when invalid."""
        self.info_camera = camera_from_camera_info(msg, self.name)

    def camera_at(self, width: int, height: int, nominal_hfov_deg: float) -> tuple[PinholeCamera, bool]:
        """The camera model for ``width`` x ``height`` images and whether it is metric (real intrinsics):
        the calibration file's, completed by camera_info when it says so, else camera_info's, else a
        nominal one with the given horizontal field of view."""
        camera = self.calibrated
        if isinstance(camera, PendingCamera) and self.info_camera is not None:
            info = self.info_camera
            camera = camera.with_intrinsics(info.K, info.width, info.height, info.distortion)
        if not isinstance(camera, PinholeCamera):
            camera = self.info_camera
        if camera is None:
            return PinholeCamera.nominal(self.name, width, height, nominal_hfov_deg), False
        return camera.scaled_to(width, height), True

    def restore_to(self) -> RestoreSize:
        """Where this camera's frames are restored to; CameraInputError while a camera_info is awaited."""
        if not self.restore_from_info:
            return self.fixed_restore
        if self.info_camera is None:
            raise CameraInputError(f"waiting for a valid camera_info on {self.info_topic} to know the size "
                                   "to restore shrunk frames to")
        return self.info_camera.height, self.info_camera.width

    def decode(self, msg: Image | CompressedImage) -> np.ndarray:
        """(H, W, 3) uint8 BGR pixels of a message; UnsupportedImageError when it cannot be read."""
        return compressed_msg_to_bgr(msg) if self.compressed else image_msg_to_bgr(msg)

    def describe(self, msg: Image | CompressedImage) -> str:
        """A few words on a message for log lines: encoding and size."""
        if self.compressed:
            return f"{msg.format}, {len(msg.data)} bytes"
        return f"{msg.encoding} {msg.width}x{msg.height}"
