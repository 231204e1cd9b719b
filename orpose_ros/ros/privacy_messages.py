"""Privacy at the message level: camera messages shrunk by the published transform, camera_info
rescaled to match. Shared by the privacy filter node and its offline twin for bags.

Frames are shrunk with `orpose_ros.privacy.shrink` (PIL bilinear, bit-exact with the model's own
shrink), in their own encoding (raw) or re-encoded in their own format (compressed: png stays
lossless). Nothing here imports torch.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from orpose_ros import privacy
from orpose_ros.ros.image_conversion import (
    bgr_to_compressed_msg,
    compressed_msg_to_bgr,
    image_msg_to_pixels,
    pixels_to_image_msg,
)
from orpose_ros.topics import is_compressed

#: The sub-namespace of the shrunk topics: /cam/image_raw -> /cam/lowres/image_raw.
LOWRES_NAMESPACE = "lowres"


def lowres_topic(topic: str, namespace: str = LOWRES_NAMESPACE) -> str:
    """The sibling topic of a camera topic in ``namespace``, beside its camera_info:
    ``/cam/image_raw`` -> ``/cam/lowres/image_raw``, ``/cam/image_raw/compressed`` ->
    ``/cam/lowres/image_raw/compressed``, ``/cam/camera_info`` -> ``/cam/lowres/camera_info``."""
    parts = topic.rstrip("/").split("/")
    compressed = is_compressed(topic) and len(parts) > 1
    head, base = (parts[:-2], parts[-2:]) if compressed else (parts[:-1], parts[-1:])
    return "/".join([*head, namespace, *base])


def shrink_image_msg(msg: Image, factor: int) -> Image:
    """The frame shrunk by ``factor``, same encoding and header (UnsupportedImageError, ValueError)."""
    pixels = image_msg_to_pixels(msg)
    small = privacy.shrink(np.ascontiguousarray(pixels), factor)
    return pixels_to_image_msg(small, msg.encoding, msg.header)


def shrink_compressed_msg(msg: CompressedImage, factor: int) -> CompressedImage:
    """The frame shrunk by ``factor``, re-encoded as its format says (png stays lossless), same header."""
    return bgr_to_compressed_msg(privacy.shrink(compressed_msg_to_bgr(msg), factor), msg.format, msg.header)


def shrink_camera_msg(msg: Image | CompressedImage, factor: int) -> Image | CompressedImage:
    """`shrink_compressed_msg` or `shrink_image_msg`, by the message's type."""
    return shrink_compressed_msg(msg, factor) if isinstance(msg, CompressedImage) else shrink_image_msg(msg, factor)


def scale_camera_info(msg: CameraInfo, width: int, height: int) -> CameraInfo:
    """The same camera seen at ``width`` x ``height``: K, P and the ROI rescaled, the rest kept.

    Focal lengths scale by s = width / msg.width (and height / msg.height); the principal point, in
    the pixel-centre convention of CameraInfo, moves to c' = (c + 0.5) s - 0.5, where a resize puts
    it. The rescaled intrinsics project onto the shrunk image as the original ones onto the full one.

    Raises:
        ValueError: camera_info of size 0.
    """
    if msg.width <= 0 or msg.height <= 0:
        raise ValueError(f"camera_info has no image size ({msg.width}x{msg.height})")
    sx, sy = width / msg.width, height / msg.height
    scale = np.array([sx, sy, 1.0])[:, None]
    k = np.asarray(msg.k, dtype=float).reshape(3, 3) * scale
    p = np.asarray(msg.p, dtype=float).reshape(3, 4) * scale
    for matrix in (k, p):
        if matrix[2, 2] != 0.0:  # an all-zero matrix means "uncalibrated" and stays so
            matrix[0, 2] += 0.5 * sx - 0.5
            matrix[1, 2] += 0.5 * sy - 0.5
    out = CameraInfo()
    out.header = msg.header
    out.width, out.height = width, height
    out.distortion_model = msg.distortion_model
    out.d = list(msg.d)
    out.k = k.ravel().tolist()
    out.r = list(msg.r)
    out.p = p.ravel().tolist()
    out.binning_x, out.binning_y = msg.binning_x, msg.binning_y
    out.roi.x_offset = int(msg.roi.x_offset * sx)
    out.roi.y_offset = int(msg.roi.y_offset * sy)
    out.roi.width = int(msg.roi.width * sx)
    out.roi.height = int(msg.roi.height * sy)
    out.roi.do_rectify = msg.roi.do_rectify
    return out


def shrunk_camera_info(msg: CameraInfo, factor: int) -> CameraInfo:
    """camera_info for the frames `shrink_camera_msg` makes of this camera's frames."""
    height, width = privacy.shrunk_size(msg.height, msg.width, factor)
    return scale_camera_info(msg, width, height)
