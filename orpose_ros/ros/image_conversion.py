"""sensor_msgs Image / CompressedImage <-> BGR numpy arrays, without copies where possible.

Equivalent to cv_bridge's ``imgmsg_to_cv2(msg, "bgr8")`` for the supported encodings (a test
compares both), but reads ``msg.data`` through the buffer protocol and validates every field, so
a malformed message raises ``UnsupportedImageError`` instead of crashing or misreading memory.
"""

from __future__ import annotations

import array

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

# encoding -> (channels, conversion to BGR or None when already BGR)
_SUPPORTED: dict[str, tuple[int, int | None]] = {
    "bgr8": (3, None),
    "rgb8": (3, cv2.COLOR_RGB2BGR),
    "bgra8": (4, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, cv2.COLOR_RGBA2BGR),
    "mono8": (1, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, cv2.COLOR_GRAY2BGR),
    "8UC3": (3, None),
}

SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(_SUPPORTED)


class UnsupportedImageError(ValueError):
    """The message cannot be turned into a BGR frame (encoding, size or data length)."""


def image_msg_to_bgr(msg: Image) -> np.ndarray:
    """(H, W, 3) uint8 BGR view or copy of an Image message. Row padding (step) is honoured."""
    pixels = image_msg_to_pixels(msg)
    conversion = _SUPPORTED[msg.encoding][1]
    return pixels if conversion is None else cv2.cvtColor(pixels, conversion)


def image_msg_to_pixels(msg: Image) -> np.ndarray:
    """(H, W, C) uint8 view of an Image message's pixels in its own encoding (C = 1, 3 or 4)."""
    encoding = msg.encoding
    if encoding not in _SUPPORTED:
        raise UnsupportedImageError(
            f"encoding '{encoding}' is not supported (supported: {', '.join(SUPPORTED_ENCODINGS)})"
        )
    channels = _SUPPORTED[encoding][0]
    height, width, step = msg.height, msg.width, msg.step
    if height == 0 or width == 0:
        raise UnsupportedImageError(f"empty image ({width}x{height})")
    row_bytes = width * channels
    if step < row_bytes:
        raise UnsupportedImageError(f"step {step} is shorter than a row ({width} px x {channels} B)")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * (height - 1) + row_bytes:
        raise UnsupportedImageError(
            f"data has {data.size} bytes, {width}x{height} {encoding} with step {step} needs "
            f"{step * (height - 1) + row_bytes}"
        )
    rows = np.lib.stride_tricks.as_strided(data, shape=(height, row_bytes), strides=(step, 1))
    return rows.reshape(height, width, channels)


def compressed_msg_to_bgr(msg: CompressedImage) -> np.ndarray:
    """Decode a CompressedImage (jpeg, png...) to (H, W, 3) uint8 BGR."""
    fmt = msg.format.lower()
    if "compresseddepth" in fmt or "16u" in fmt or "32f" in fmt:
        raise UnsupportedImageError(f"compressed format '{msg.format}' is a depth image, not a colour one")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise UnsupportedImageError("compressed image has no data")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UnsupportedImageError(f"could not decode compressed image (format '{msg.format}')")
    return image


def bgr_to_compressed_msg(image: np.ndarray, fmt: str, header: Header) -> CompressedImage:
    """CompressedImage of an (H, W, 3) uint8 BGR image: ``fmt`` "jpeg" (quality 90) or "png" (lossless)."""
    kind = "png" if "png" in fmt.lower() else "jpeg"
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if kind == "jpeg" else []
    ok, data = cv2.imencode(f".{'png' if kind == 'png' else 'jpg'}", image, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} image as {kind}")
    return CompressedImage(header=header, format=kind, data=data.tobytes())


def bgr_to_image_msg(image: np.ndarray, header: Header) -> Image:
    """bgr8 Image message of ``image`` (H, W, 3) uint8, stamped with ``header``."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
    return pixels_to_image_msg(image, "bgr8", header)


def pixels_to_image_msg(pixels: np.ndarray, encoding: str, header: Header) -> Image:
    """Image message of (H, W) or (H, W, C) uint8 ``pixels`` in ``encoding``, unpadded rows."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError(f"expected (H, W[, C]) uint8, got {pixels.shape} {pixels.dtype}")
    height, width = pixels.shape[:2]
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    # array.array skips rclpy's per-element checks that make assigning bytes slow.
    data = array.array("B", np.ascontiguousarray(pixels).tobytes())
    return Image(header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                 step=width * channels, data=data)
