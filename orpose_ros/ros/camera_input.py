"""One camera of orpose_node: its topics, its intrinsics from camera_info, and turning its messages into
frames the model can take. Everything that can be wrong with one camera is caught here, so that a bad
frame or a bad camera_info costs that camera alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from orpose_ros.projection import Intrinsics
from orpose_ros.ros.diagnostics import CameraStats
from orpose_ros.ros.image_conversion import compressed_msg_to_bgr, image_msg_to_bgr

#: (height, width) to restore a shrunk frame to; None: the frame arrives at full resolution.
RestoreSize = tuple[int, int] | None


class CameraInputError(ValueError):
    """A message of this camera that cannot be used; the message says why (one line)."""


def intrinsics_from_camera_info(msg: CameraInfo) -> Intrinsics:
    """Validated pinhole intrinsics of a CameraInfo; CameraInputError naming the bad field."""
    if msg.width <= 0 or msg.height <= 0:
        raise CameraInputError(f"image size {msg.width}x{msg.height} is not positive")
    k = np.asarray(msg.k, dtype=float)
    if k.shape != (9,) or not np.all(np.isfinite(k)):
        raise CameraInputError(f"K has non-finite values: {k.tolist()}")
    try:
        return Intrinsics.from_k(k, msg.width, msg.height)
    except ValueError as error:
        raise CameraInputError(f"K: {error}") from None


@dataclass
class CameraInput:
    """State of one camera (thread-safe enough: fields are replaced whole, never mutated in place)."""

    index: int
    topic: str
    info_topic: str  # '' without camera_info
    fixed_restore: RestoreSize = None  # frames arrive shrunk and are restored to this size
    restore_from_info: bool = False  # ... or to the size of the latest valid camera_info
    stats: CameraStats = field(default_factory=CameraStats)
    intrinsics: Intrinsics | None = None  # from camera_info, at camera_info's resolution

    @property
    def compressed(self) -> bool:
        return self.topic.rstrip("/").endswith("/compressed")

    @property
    def namespace(self) -> str:
        """The marker namespace of this camera: its topic without the leading slash."""
        return self.topic.strip("/") or f"camera_{self.index}"

    def update_info(self, msg: CameraInfo) -> None:
        """Take the intrinsics of a camera_info; CameraInputError (and nothing changes) when invalid."""
        self.intrinsics = intrinsics_from_camera_info(msg)

    def restore_to(self) -> RestoreSize:
        """Where this camera's frames are restored to; CameraInputError while a camera_info is awaited."""
        if not self.restore_from_info:
            return self.fixed_restore
        if self.intrinsics is None:
            raise CameraInputError(f"waiting for a valid camera_info on {self.info_topic} to know the size "
                                   "to restore shrunk frames to")
        return self.intrinsics.height, self.intrinsics.width

    def decode(self, msg: Image | CompressedImage) -> np.ndarray:
        """(H, W, 3) uint8 BGR pixels of a message; UnsupportedImageError when it cannot be read."""
        return compressed_msg_to_bgr(msg) if self.compressed else image_msg_to_bgr(msg)

    def describe(self, msg: Image | CompressedImage) -> str:
        """A few words on a message for log lines: encoding and size."""
        if self.compressed:
            return f"{msg.format}, {len(msg.data)} bytes"
        return f"{msg.encoding} {msg.width}x{msg.height}"

