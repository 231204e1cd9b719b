"""Image message conversions: equal to cv_bridge where it is right, and safe on malformed input."""

from __future__ import annotations

import array

import cv2
import numpy as np
import pytest
from cv_bridge import CvBridge
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from orpose_ros.ros.image_conversion import (
    UnsupportedImageError,
    bgr_to_image_msg,
    compressed_msg_to_bgr,
    image_msg_to_bgr,
)

pytestmark = pytest.mark.ros

RNG = np.random.default_rng(3)
BGR = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)


def _msg(pixels: np.ndarray, encoding: str, pad: int = 0) -> Image:
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    padded = np.zeros((height, rows.shape[1] + pad), np.uint8)
    padded[:, : rows.shape[1]] = rows
    return Image(height=height, width=width, encoding=encoding, step=padded.shape[1],
                 data=array.array("B", padded.tobytes()))


@pytest.mark.parametrize(
    ("encoding", "pixels"),
    [
        ("bgr8", BGR),
        ("rgb8", BGR[..., ::-1]),
        ("bgra8", np.dstack([BGR, np.full(BGR.shape[:2], 255, np.uint8)])),
        ("rgba8", np.dstack([BGR[..., ::-1], np.full(BGR.shape[:2], 9, np.uint8)])),
    ],
)

def test_colour_encodings_give_the_same_bgr_frame_as_cv_bridge(encoding: str, pixels: np.ndarray) -> None:
    msg = _msg(np.ascontiguousarray(pixels), encoding)
    ours = image_msg_to_bgr(msg)
    np.testing.assert_array_equal(ours, BGR)
    np.testing.assert_array_equal(ours, CvBridge().imgmsg_to_cv2(msg, "bgr8"))


def test_mono8_becomes_three_equal_channels() -> None:
    gray = BGR[..., 1].copy()
    out = image_msg_to_bgr(_msg(gray[..., None], "mono8"))
    assert out.shape == (48, 64, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_row_padding_is_skipped() -> None:
    np.testing.assert_array_equal(image_msg_to_bgr(_msg(BGR, "bgr8", pad=7)), BGR)


def test_bgr8_is_read_without_a_copy() -> None:
    msg = _msg(BGR, "bgr8")
    out = image_msg_to_bgr(msg)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1", "mono16", "yuv422", "bayer_rggb8", ""])
def test_unsupported_encodings_are_named_in_the_error(encoding: str) -> None:
    msg = Image(height=2, width=2, encoding=encoding, step=8, data=array.array("B", bytes(16)))
    with pytest.raises(UnsupportedImageError, match=f"'{encoding}' is not supported"):
        image_msg_to_bgr(msg)


def test_truncated_and_empty_images_are_refused() -> None:
    msg = _msg(BGR, "bgr8")
    msg.data = msg.data[: len(msg.data) - 1]
    with pytest.raises(UnsupportedImageError, match="needs"):
        image_msg_to_bgr(msg)
    with pytest.raises(UnsupportedImageError, match="empty"):
        image_msg_to_bgr(Image(height=0, width=0, encoding="bgr8"))
    bad_step = _msg(BGR, "bgr8")
    bad_step.step = 10
    with pytest.raises(UnsupportedImageError, match="step"):
        image_msg_to_bgr(bad_step)


@pytest.mark.parametrize(("fmt", "ext"), [("jpeg", ".jpg"), ("png", ".png")])
def test_compressed_images_decode(fmt: str, ext: str) -> None:
    smooth = cv2.GaussianBlur(BGR, (0, 0), 4)  # JPEG is lossy on noise; keep the comparison meaningful
    ok, data = cv2.imencode(ext, smooth)
    assert ok
    out = compressed_msg_to_bgr(CompressedImage(format=fmt, data=data.tobytes()))
    assert out.shape == smooth.shape
    error = np.abs(out.astype(int) - smooth).mean()
    assert error < 3 if fmt == "jpeg" else error == 0


def test_corrupt_or_depth_compressed_images_are_refused() -> None:
    with pytest.raises(UnsupportedImageError, match="could not decode"):
        compressed_msg_to_bgr(CompressedImage(format="jpeg", data=b"\xff\xd8 not a jpeg"))
    with pytest.raises(UnsupportedImageError, match="no data"):
        compressed_msg_to_bgr(CompressedImage(format="jpeg", data=b""))
    with pytest.raises(UnsupportedImageError, match="depth"):
        compressed_msg_to_bgr(CompressedImage(format="16UC1; compressedDepth", data=b"\x00" * 16))


def test_outgoing_image_round_trips_and_keeps_the_header() -> None:
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 5, 6
    msg = bgr_to_image_msg(BGR, header)
    assert (msg.encoding, msg.width, msg.height, msg.step) == ("bgr8", 64, 48, 192)
    assert msg.header.frame_id == "cam"
    assert msg.header.stamp.nanosec == 6
    np.testing.assert_array_equal(image_msg_to_bgr(msg), BGR)
    with pytest.raises(ValueError, match="expected"):
        bgr_to_image_msg(BGR[..., 0], header)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8", "mono8"])
def test_camera_replay_messages_read_back_as_the_frame(encoding: str) -> None:
    from orpose_ros.ros.camera_replay import to_message

    msg = to_message(BGR, Header(frame_id="cam"), encoding, compressed=False)
    assert (msg.encoding, msg.width, msg.height, msg.header.frame_id) == (encoding, 64, 48, "cam")
    expected = cv2.cvtColor(cv2.cvtColor(BGR, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) if encoding == "mono8" else BGR
    np.testing.assert_array_equal(image_msg_to_bgr(msg), expected)
