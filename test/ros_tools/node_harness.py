"""Run orpose_node as a separate process and talk to it from the test process with real rclpy."""

from __future__ import annotations

import array
import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from fusion_data import keypoints_of
from geometry_msgs.msg import Point
from rcl_interfaces.msg import SetParametersResult
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from orpose_msgs.msg import Keypoint2D, PersonPose, PersonPoseArray
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.ros import processes
from orpose_ros.ros.background_node import BackgroundNode
from orpose_ros.ros.processes import wait_until

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
BEST_EFFORT = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)


def node_command(params: dict[str, object]) -> list[str]:
    command = [sys.executable, "-m", "orpose_ros.ros.node", "--ros-args"]
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            value = "[" + ",".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            value = str(value).lower()
        command += ["-p", f"{name}:={value}"]
    return command


def start_node(params: dict[str, object], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(node_command(params), env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def start_fusion_node(env: dict[str, str], log: Path, **params: object) -> subprocess.Popen:
    """orpose_fusion_node as a separate process with ``params``, its output in ``log``."""
    command = processes.node_command("orpose_ros.ros.fusion_node", params)
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def header(sec: int, nanosec: int, frame_id: str) -> Header:
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def camera_poses_msg(camera: PinholeCamera, people: Sequence[np.ndarray], sec: int, nanosec: int,
                     frame_id: str = "") -> PersonPoseArray:
    """What orpose_node publishes for ``camera`` seeing ``people`` ((17, 3) COCO joints [m, world] each): their
    keypoints projected exactly (`fusion_data.keypoints_of`), no 3D skeleton (NaN), stamped (sec, nanosec), in
    ``frame_id`` (default: ``<camera name>_optical``), from ``/<camera name>/image_raw``."""
    msg = PersonPoseArray(header=header(sec, nanosec, frame_id or f"{camera.name}_optical"),
                          source_topic=f"/{camera.name}/image_raw", image_width=camera.width,
                          image_height=camera.height, downsample_factor=1)
    for joints in people:
        person = PersonPose(score=0.9)
        person.keypoints_2d = [Keypoint2D(x=float(u), y=float(v), score=float(s))
                               for u, v, s in keypoints_of(camera, joints)]
        person.keypoints_3d = [Point(x=float("nan"), y=float("nan"), z=float("nan")) for _ in range(17)]
        person.bbox = array.array("f", [0.0, 0.0, 1.0, 1.0])
        msg.persons.append(person)
    return msg


def image_msg(pixels: np.ndarray, encoding: str, hdr: Header, step: int | None = None) -> Image:
    height, width = pixels.shape[:2]
    data = np.ascontiguousarray(pixels).tobytes()
    return Image(header=hdr, height=height, width=width, encoding=encoding,
                 step=step if step is not None else len(data) // max(height, 1), data=array.array("B", data))


@dataclass
class Inbox:
    """Everything the node published, as received by the test process (thread-safe append)."""

    poses: list[tuple[float, PersonPoseArray]] = field(default_factory=list)
    markers: list[MarkerArray] = field(default_factory=list)
    debug: list[Image] = field(default_factory=list)
    diagnostics: list[DiagnosticArray] = field(default_factory=list)
    other: dict[str, list] = field(default_factory=dict)

    def poses_with_stamp(self, sec: int, nanosec: int) -> list[PersonPoseArray]:
        return [m for _, m in list(self.poses) if (m.header.stamp.sec, m.header.stamp.nanosec) == (sec, nanosec)]


class NodePeer:
    """An rclpy node in the test process: publishes camera frames, records the node's outputs."""

    def __init__(self, env: dict[str, str], image_topics: dict[str, type],
                 best_effort_topics: dict[str, type] | None = None, listen: dict[str, type] | None = None) -> None:
        self.ros = BackgroundNode(env, "orpose_test_peer")
        self.node = self.ros.node
        self.inbox = Inbox()
        self.publishers = {t: self.node.create_publisher(kind, t, RELIABLE) for t, kind in image_topics.items()}
        for topic, kind in (best_effort_topics or {}).items():
            self.publishers[topic] = self.node.create_publisher(kind, topic, BEST_EFFORT)
        self.listeners = {}
        for topic, kind in (listen or {}).items():  # any other topic, recorded in inbox.other[topic]
            self.inbox.other[topic] = []
            self.listeners[topic] = self.node.create_subscription(kind, topic, self.inbox.other[topic].append, RELIABLE)
        self._set_parameters = self.node.create_client(SetParameters, "/orpose_node/set_parameters")
        self.node.create_subscription(PersonPoseArray, "/orpose/poses",
                                      lambda m: self.inbox.poses.append((time.time(), m)), RELIABLE)
        self.node.create_subscription(MarkerArray, "/orpose/markers", self.inbox.markers.append, RELIABLE)
        self.node.create_subscription(Image, "/orpose/debug_image", self.inbox.debug.append, RELIABLE)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.inbox.diagnostics.append, RELIABLE)
        self.ros.start()

    def publish(self, topic: str, msg: Image | CompressedImage) -> None:
        self.publishers[topic].publish(msg)

    def publish_moments_until(self, topic: str, moment: Callable[[int], Iterable[object]],
                              answered: Callable[[], bool], timeout: float = 60.0, every_s: float = 0.5) -> bool:
        """Publish the messages of moment k = 0, 1, ... on ``topic``, one moment every ``every_s``, until
        ``answered()`` (discovery is not instant both ways: the first moments may be lost)."""
        moments = itertools.count()

        def publish_or_done() -> bool:
            if answered():
                return True
            for msg in moment(next(moments)):
                self.publish(topic, msg)
            return False

        return wait_until(publish_or_done, timeout, interval=every_s)

    def set_parameters(self, timeout: float = 30.0, **values: object) -> list[SetParametersResult]:
        """Call orpose_node's parameter service, as ``ros2 param set`` does."""
        assert self._set_parameters.wait_for_service(timeout_sec=timeout), "no parameter service"
        parameters = [Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        request = SetParameters.Request(parameters=parameters)
        future = self._set_parameters.call_async(request)
        assert wait_until(future.done, timeout), "the parameter service did not answer"
        return list(future.result().results)

    def wait_for_subscriber(self, topic: str, timeout: float = 30.0) -> bool:
        return wait_until(lambda: self.publishers[topic].get_subscription_count() > 0, timeout)

    def wait_for_publisher(self, topic: str, timeout: float = 30.0) -> bool:
        """Until a publisher has matched our subscription to a ``listen`` topic (what it sends then arrives)."""
        return wait_until(lambda: self.listeners[topic].get_publisher_count() > 0, timeout)

    def close(self) -> None:
        self.ros.close()


def diagnostics_value(msgs: list[DiagnosticArray], status_suffix: str, key: str) -> float | None:
    """Latest value of ``key`` in the status whose name ends with ``status_suffix``."""
    for msg in reversed(list(msgs)):
        for status in msg.status:
            if status.name.endswith(status_suffix):
                for kv in status.values:
                    if kv.key == key:
                        return float(kv.value)
    return None
