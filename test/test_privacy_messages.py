"""Camera messages shrunk at the source: the published transform in every encoding, camera_info rescaled."""

from __future__ import annotations

import array

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from orpose_ros import privacy
from orpose_ros.ros.image_conversion import UnsupportedImageError, compressed_msg_to_bgr, image_msg_to_pixels
from orpose_ros.ros.privacy_messages import (
    lowres_topic,
    scale_camera_info,
    shrink_camera_msg,
    shrunk_camera_info,
)

pytestmark = pytest.mark.ros

HEADER = Header(stamp=Time(sec=12, nanosec=34), frame_id="cam_optical")


def _image(pixels: np.ndarray, encoding: str) -> Image:
    h, w = pixels.shape[:2]
    data = np.ascontiguousarray(pixels).tobytes()
    return Image(header=HEADER, height=h, width=w, encoding=encoding, step=len(data) // h, data=array.array("B", data))


@pytest.mark.parametrize(
    ("topic", "lowres"),
    [
        ("/cam1/image_raw", "/cam1/lowres/image_raw"),
        ("/cam1/image_raw/compressed", "/cam1/lowres/image_raw/compressed"),
        ("/cam1/camera_info", "/cam1/lowres/camera_info"),
        ("/or/ceiling/rgb/image_rect", "/or/ceiling/rgb/lowres/image_rect"),
        ("image_raw", "lowres/image_raw"),
    ],
)
def test_shrunk_topics_are_siblings_beside_the_camera_info(topic: str, lowres: str) -> None:
    assert lowres_topic(topic) == lowres


@pytest.mark.parametrize(("encoding", "channels"), [("bgr8", 3), ("rgb8", 3), ("mono8", 1), ("rgba8", 4)])
def test_raw_frames_are_shrunk_in_their_own_encoding_bit_exactly(encoding: str, channels: int) -> None:
    pixels = np.random.default_rng(channels).integers(0, 256, (480, 640, channels), dtype=np.uint8)
    small = shrink_camera_msg(_image(pixels, encoding), 12)
    assert (small.width, small.height, small.encoding, small.step) == (53, 40, encoding, 53 * channels)
    assert small.header == HEADER
    np.testing.assert_array_equal(image_msg_to_pixels(small), privacy.shrink(pixels, 12))


def test_padded_rows_are_read_through_their_step() -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    padded = np.zeros((480, 640 * 3 + 64), np.uint8)
    padded[:, : 640 * 3] = pixels.reshape(480, -1)
    msg = Image(header=HEADER, height=480, width=640, encoding="bgr8", step=640 * 3 + 64,
                data=array.array("B", padded.tobytes()))
    np.testing.assert_array_equal(image_msg_to_pixels(shrink_camera_msg(msg, 10)), privacy.shrink(pixels, 10))


def test_png_stays_lossless_and_jpeg_stays_jpeg() -> None:
    frame = np.random.default_rng(2).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    png = CompressedImage(header=HEADER, format="png", data=cv2.imencode(".png", frame)[1].tobytes())
    small = shrink_camera_msg(png, 12)
    assert isinstance(small, CompressedImage)
    assert small.format == "png"
    assert small.header == HEADER
    np.testing.assert_array_equal(compressed_msg_to_bgr(small), privacy.shrink(frame, 12))
    jpeg = CompressedImage(header=HEADER, format="jpeg", data=cv2.imencode(".jpg", frame)[1].tobytes())
    assert compressed_msg_to_bgr(shrink_camera_msg(jpeg, 8)).shape == (60, 80, 3)


def test_bad_frames_raise_value_errors() -> None:
    with pytest.raises(UnsupportedImageError, match="16UC1"):
        shrink_camera_msg(_image(np.zeros((48, 64, 2), np.uint8), "16UC1"), 12)
    with pytest.raises(ValueError, match="too small to shrink"):
        shrink_camera_msg(_image(np.zeros((8, 640, 3), np.uint8), "bgr8"), 12)


def test_rescaled_camera_info_projects_onto_the_shrunk_frame_as_the_original_onto_the_full() -> None:
    k = [520.0, 0.0, 318.5, 0.0, 515.0, 241.0, 0.0, 0.0, 1.0]
    p = [520.0, 0.0, 318.5, -52.0, 0.0, 515.0, 241.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    info = CameraInfo(header=HEADER, width=640, height=480, distortion_model="plumb_bob", d=[0.1, 0.0, 0.0, 0.0, 0.0],
                      k=k, p=p)
    small = shrunk_camera_info(info, 12)
    assert (small.width, small.height, small.header, small.distortion_model) == (53, 40, HEADER, "plumb_bob")
    sx, sy = 53 / 640, 40 / 480
    point = np.array([0.3, -0.2, 2.5])  # metres, camera frame
    u, v = k[0] * point[0] / point[2] + k[2], k[4] * point[1] / point[2] + k[5]
    ks = np.asarray(small.k).reshape(3, 3)
    us, vs = ks[0, 0] * point[0] / point[2] + ks[0, 2], ks[1, 1] * point[1] / point[2] + ks[1, 2]
    # pixel centres: u_small + 0.5 = (u + 0.5) * s, as a resize maps them
    assert us + 0.5 == pytest.approx((u + 0.5) * sx)
    assert vs + 0.5 == pytest.approx((v + 0.5) * sy)
    assert small.p[3] == pytest.approx(-52.0 * sx)
    assert list(small.d) == list(info.d)
    uncalibrated = scale_camera_info(CameraInfo(width=640, height=480), 53, 40)
    assert list(uncalibrated.k) == [0.0] * 9
    with pytest.raises(ValueError, match="no image size"):
        scale_camera_info(CameraInfo(), 53, 40)
