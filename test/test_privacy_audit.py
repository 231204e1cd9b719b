"""A privacy audit: with factor 12, a camera sees a 1-pixel checkerboard (the finest detail there is)
through the privacy filter and orpose_node, and every topic the package publishes is recorded.
Nothing may carry the checkerboard, and nothing may be written to disk or to the log but log lines.

The checkerboard's detail is measured as the correlation of an image with the +-1 checkerboard
pattern: 127.5 grey levels for the pattern itself, 0 for anything shrunk 12x and restored."""

from __future__ import annotations

import array
import os
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from rcl_interfaces.msg import Log
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_tools.msg_dict import message_type
from ros_tools.node_harness import header, image_msg, node_command, wait_until
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from orpose_ros.ros import processes

pytestmark = [pytest.mark.ros, pytest.mark.timeout(600)]

RAW, INFO = "/or_cam/image_raw", "/or_cam/camera_info"
LOW_RAW = "/or_cam/lowres/image_raw"
FACTOR = 12


def _checkerboard(height: int = 480, width: int = 640) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    board = np.where((x + y) % 2 == 0, 255, 0).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


def checkerboard_detail(pixels: np.ndarray) -> float:
    """|mean(pixels * (+-1 checkerboard))| over channels: 127.5 for the pattern, ~0 without its detail."""
    h, w = pixels.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    sign = np.where((x + y) % 2 == 0, 1.0, -1.0)
    pixels = pixels.reshape(h, w, -1).astype(float)
    return float(np.abs((pixels * sign[:, :, None]).mean(axis=(0, 1))).max())


def _image_pixels(msg: Image) -> np.ndarray:
    channels = msg.step // msg.width
    return np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, channels)


def _byte_arrays(value: object, path: str = "") -> list[tuple[str, int]]:
    """(field path, length) of every byte/number array in a message, recursively."""
    found = []
    if hasattr(value, "get_fields_and_field_types"):
        for name in value.get_fields_and_field_types():
            found += _byte_arrays(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (bytes, array.array, np.ndarray)):
        found.append((path, len(value)))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += _byte_arrays(item, f"{path}[{i}]")
    return found


def test_no_checkerboard_detail_leaves_the_package_and_nothing_is_written(tmp_path: Path, stats_path: Path) -> None:
    board = _checkerboard()
    assert checkerboard_detail(board) == pytest.approx(127.5)
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = processes.ros_child_env({**os.environ, "HOME": str(home)}, log_dir=tmp_path / "ros_log")
    filter_command = processes.node_command("orpose_ros.ros.privacy_filter_node", {
        "image_topics": [RAW], "camera_info_topics": [INFO], "factor": FACTOR, "qos_reliability": "reliable"})
    group = processes.ProcessGroup(env, tmp_path / "logs")
    group.start("filter", filter_command, cwd=work)
    group.start("node", node_command({
        "image_topics": [LOW_RAW], "camera_info_topics": ["/or_cam/lowres/camera_info"], "restore_size": "640x480",
        "random_weights_seed": 0, "stats": stats_path, "device": "cpu", "qos_reliability": "reliable"}), cwd=work)

    for key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR"):
        os.environ[key] = env[key]
    context = rclpy.Context()
    rclpy.init(context=context)
    peer = rclpy.create_node("privacy_auditor", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(peer)
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    camera = peer.create_publisher(Image, RAW, reliable)
    camera_info = peer.create_publisher(CameraInfo, INFO, reliable)
    received: dict[str, list] = {"/rosout": []}
    # /rosout keeps its last messages for late subscribers (transient local): the start-up lines included
    rosout_qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)
    peer.create_subscription(Log, "/rosout", received["/rosout"].append, rosout_qos)
    try:
        assert wait_until(lambda: "ready:" in group.log("node"), 180), group.log("node")
        assert wait_until(lambda: camera.get_subscription_count() > 0, 60)
        topics: dict[str, str] = {}
        k = [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]
        expected = {"/orpose/poses", "/orpose/markers", "/orpose/debug_image", "/diagnostics", LOW_RAW,
                    "/or_cam/lowres/camera_info"}
        deadline_stamp, i, give_up = 0, 0, time.monotonic() + 120

        def heard() -> set[str]:
            return {name for name, msgs in received.items() if msgs}

        # a few frames, and more until every topic of the package has been discovered, subscribed and heard
        # (a subscription made late can miss a topic's first messages: discovery takes its time)
        while i < 3 or (not expected <= heard() and time.monotonic() < give_up):
            camera_info.publish(CameraInfo(header=header(600 + i, 0, "or_cam"), width=640, height=480, k=k))
            camera.publish(image_msg(board, "bgr8", header(600 + i, 0, "or_cam")))
            deadline_stamp = 600 + i
            for name, types in peer.get_topic_names_and_types():
                if name not in topics and name not in (RAW, INFO, "/parameter_events", "/rosout"):
                    topics[name] = types[0]
                    received[name] = []
                    peer.create_subscription(message_type(types[0]), name, received[name].append, reliable)
            executor.spin_once(timeout_sec=0.5)
            i += 1
        assert expected <= set(topics), sorted(topics)
        assert wait_until(lambda: (executor.spin_once(timeout_sec=0.2) or True) and any(
            m.header.stamp.sec == deadline_stamp for m in received.get("/orpose/poses", [])), 240)
        for _ in range(20):  # a few more diagnostics and log messages
            executor.spin_once(timeout_sec=0.1)
    finally:
        executor.shutdown()
        peer.destroy_node()
        rclpy.try_shutdown(context=context)
        group.stop_all()

    published = {name for name, msgs in received.items() if msgs}
    assert expected | {"/rosout"} <= published, sorted(received)
    for name, msgs in received.items():
        for msg in msgs:
            if isinstance(msg, Image):
                assert checkerboard_detail(_image_pixels(msg)) < 1.0, f"{name} carries the checkerboard"
                if name == LOW_RAW:
                    assert (msg.width, msg.height) == (53, 40)
            elif isinstance(msg, CompressedImage):
                pytest.fail(f"{name}: an unexpected compressed image")
            else:  # numbers only: nothing large enough to hold a picture
                assert all(n < 53 * 40 for _, n in _byte_arrays(msg)), (name, _byte_arrays(msg))
    for log in received["/rosout"]:
        assert len(log.msg) < 2000
        assert "\x00" not in log.msg
    # the ROS-free core logs through the node's logger: its lines reach /rosout too
    assert any(log.name == "orpose_node" and "[orpose_ros.model" in log.msg for log in received["/rosout"])

    # nothing written: no file in the working directory or the home folder, only small text logs
    assert list(work.iterdir()) == []
    assert [p for p in home.rglob("*") if p.is_file()] == []
    logs = [p for p in (tmp_path / "ros_log").rglob("*") if p.is_file()]
    assert logs
    assert all(p.stat().st_size < 200_000 for p in logs)
    for path in logs:
        path.read_text(encoding="utf-8")  # text, not pixels
