"""Recorded OR sessions for the tests, written with the rosbags library itself (sqlite3 or MCAP)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from orpose_ros.synthetic_scene import synthetic_frame

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
T = TYPESTORE.types
RAW, COMPRESSED, INFO = "/cam1/image_raw", "/cam2/image_raw/compressed", "/cam1/camera_info"
NOTES, DISPARITY, DEPTH = "/session/notes", "/cam1/disparity", "/cam1/depth/image_raw"
STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}


def frame(index: int) -> np.ndarray:
    """A 640x480 BGR scene with fine detail (noise), deterministic in ``index``."""
    image = synthetic_frame(index).astype(np.int16)
    return np.clip(image + np.random.default_rng(index).integers(-30, 30, image.shape), 0, 255).astype(np.uint8)


def header(sec: int, nanosec: int, frame_id: str):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
                                    frame_id=frame_id)


def image(pixels: np.ndarray, encoding: str, hdr, claimed_height: int | None = None):
    h, w = pixels.shape[:2]
    data = np.ascontiguousarray(pixels).reshape(-1).view(np.uint8)
    return T["sensor_msgs/msg/Image"](header=hdr, height=claimed_height or h, width=w, encoding=encoding,
                                      is_bigendian=0, step=pixels.strides[0], data=data)


def png(pixels: np.ndarray, hdr):
    return T["sensor_msgs/msg/CompressedImage"](header=hdr, format="png",
                                                data=cv2.imencode(".png", pixels)[1].reshape(-1))


def camera_info(hdr):
    roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return T["sensor_msgs/msg/CameraInfo"](
        header=hdr, height=480, width=640, distortion_model="plumb_bob", d=np.zeros(5),
        k=np.array([500.0, 0, 320, 0, 500, 240, 0, 0, 1]), r=np.eye(3).ravel(),
        p=np.array([500.0, 0, 320, 0, 0, 500, 240, 0, 0, 0, 1, 0]), binning_x=0, binning_y=0, roi=roi)


def write_session(path: Path, storage: str, frames: int = 2, broken: bool = True) -> dict[str, int]:
    """A session: ``frames`` raw frames on cam1 and png frames on cam2 (stamps k.0 s and k.5 s, k = 100..),
    camera_info, a notes topic, a stereo disparity image and a 16-bit depth image; with ``broken``
    one raw frame whose data is shorter than its size says. Returns the messages per topic."""
    counts: dict[str, int] = {}
    with Writer(path, version=8, storage_plugin=STORAGES[storage]) as writer:
        connections = {topic: writer.add_connection(topic, msgtype, typestore=TYPESTORE) for topic, msgtype in (
            (RAW, "sensor_msgs/msg/Image"), (COMPRESSED, "sensor_msgs/msg/CompressedImage"),
            (INFO, "sensor_msgs/msg/CameraInfo"), (NOTES, "std_msgs/msg/String"),
            (DISPARITY, "stereo_msgs/msg/DisparityImage"), (DEPTH, "sensor_msgs/msg/Image"))}

        def write(topic: str, stamp_ns: int, msg: object) -> None:
            writer.write(connections[topic], stamp_ns, TYPESTORE.serialize_cdr(msg, connections[topic].msgtype))
            counts[topic] = counts.get(topic, 0) + 1

        write(INFO, 99_000_000_000, camera_info(header(99, 0, "cam1_optical")))
        write(NOTES, 99_500_000_000, T["std_msgs/msg/String"](data="start of the session"))
        for k in range(frames):
            sec = 100 + k
            write(RAW, sec * 10**9, image(frame(k), "bgr8", header(sec, 0, "cam1_optical")))
            write(COMPRESSED, sec * 10**9 + 5 * 10**8, png(frame(10 + k), header(sec, 500_000_000, "cam2_optical")))
        if broken:
            write(RAW, 190 * 10**9, image(frame(0)[:100], "bgr8", header(190, 0, "cam1_optical"), claimed_height=480))
        depth = np.zeros((480, 640), np.uint16).view(np.uint8).reshape(480, 1280)
        write(DEPTH, 191 * 10**9, T["sensor_msgs/msg/Image"](
            header=header(191, 0, "cam1_depth"), height=480, width=640, encoding="16UC1", is_bigendian=0,
            step=1280, data=depth.reshape(-1)))
        disparity = T["stereo_msgs/msg/DisparityImage"](
            header=header(192, 0, "cam1_optical"), image=image(frame(5), "bgr8", header(192, 0, "cam1_optical")),
            f=500.0, t=0.1, valid_window=T["sensor_msgs/msg/RegionOfInterest"](
                x_offset=0, y_offset=0, height=480, width=640, do_rectify=False),
            min_disparity=0.0, max_disparity=64.0, delta_d=0.1)
        write(DISPARITY, 192 * 10**9, disparity)
    return counts
