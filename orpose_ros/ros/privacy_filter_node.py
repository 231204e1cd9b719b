"""orpose_privacy_filter: the privacy filter beside the camera.

Subscribes to camera topics (raw or /compressed) and publishes only the frames shrunk by the
privacy factor, on sibling topics (/cam/image_raw -> /cam/lowres/image_raw), with each camera's
camera_info rescaled to match. Run it on the camera's machine; record and send only its output.
It imports neither torch nor the model, and does its work in the subscription callbacks. A lifecycle
node (`ManagedNode`): it subscribes and publishes only while active.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from orpose_ros.ros import parameter_groups as groups
from orpose_ros.ros.diagnostics import key_value
from orpose_ros.ros.entry_point import run_node
from orpose_ros.ros.log_bridge import ThrottledWarnings, cause_of
from orpose_ros.ros.managed_node import ManagedNode
from orpose_ros.ros.parameters import ConfigError, parameter, topics_problem
from orpose_ros.ros.privacy_messages import LOWRES_NAMESPACE, lowres_topic, shrink_camera_msg, shrunk_camera_info
from orpose_ros.ros.rate_stats import LatencyWindow, RateMeter
from orpose_ros.topics import is_compressed

WARN_EVERY_S = 5.0


@dataclass(frozen=True)
class PrivacyFilterConfig(groups.ImageQosGroup):
    """The validated parameters of orpose_privacy_filter."""

    autostart: bool = groups.autostart()
    image_topics: tuple[str, ...] = parameter(
        ("/camera/image_raw",), "Camera image topics to shrink; a name ending in /compressed is read and "
        "written as sensor_msgs/CompressedImage.", check=topics_problem,
        expect="a non-empty list of distinct topic names")
    camera_info_topics: tuple[str, ...] = parameter(
        ("",), "CameraInfo topics, one per image topic ('' for none), republished rescaled beside the "
        "shrunk frames; [''] = none.")
    factor: int = parameter(12, "Privacy factor: a W x H frame leaves as int(W/factor) x int(H/factor) "
                            "(the published models use 8, 10, 12).", int_range=(2, 64))
    output_namespace: str = parameter(LOWRES_NAMESPACE, "Sub-namespace of the output topics: "
                                      "/cam/image_raw -> /cam/<output_namespace>/image_raw.",
                                      pattern=r"[A-Za-z][A-Za-z0-9_]*", expect="a namespace name")
    qos_reliability: str = groups.qos_reliability()
    qos_depth: int = groups.qos_depth()

    def check(self) -> None:
        given = self.camera_info_topics
        if any(given) and len(given) != len(self.image_topics):
            raise ConfigError(f"parameter 'camera_info_topics': {len(given)} topic(s) for {len(self.image_topics)} "
                              "image topic(s); expected one per image topic ('' for none), or ['']")


class PrivacyFilterNode(ManagedNode[PrivacyFilterConfig]):
    """configure: validate the parameters; activate: subscribe and publish; deactivate: neither."""

    def __init__(self) -> None:
        super().__init__("orpose_privacy_filter", PrivacyFilterConfig)
        self.cost = LatencyWindow()
        self._warnings = ThrottledWarnings(self.get_logger(), WARN_EVERY_S)
        self._counts: dict[str, dict[str, int]] = {}
        self._rates: dict[str, RateMeter] = {}

    def load(self, config: PrivacyFilterConfig) -> str:
        self._counts = {topic: {"shrunk": 0, "dropped": 0} for topic in config.image_topics}
        self._rates = {topic: RateMeter() for topic in config.image_topics}
        return f"x{config.factor} {list(config.image_topics)}"

    def start(self) -> str:
        config = self.config
        qos = config.image_qos()
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._publish_diagnostics)
        outputs = []
        for index, topic in enumerate(config.image_topics):
            out = lowres_topic(topic, config.output_namespace)
            kind = CompressedImage if is_compressed(topic) else Image
            publisher = self.create_publisher(kind, out, qos)
            self.create_subscription(kind, topic, self._frame_callback(topic, publisher, config.factor), qos)
            info = config.camera_info_topics[index] if any(config.camera_info_topics) else ""
            if info:
                info_publisher = self.create_publisher(CameraInfo, lowres_topic(info, config.output_namespace), qos)
                self.create_subscription(CameraInfo, info, self._info_callback(info, info_publisher, config.factor),
                                  QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
            outputs.append(out)
        return f"x{config.factor} {list(config.image_topics)} -> {outputs}"

    def _frame_callback(self, topic: str, publisher, factor: int):
        def on_frame(msg: Image | CompressedImage) -> None:
            started = time.perf_counter()
            try:
                small = shrink_camera_msg(msg, factor)
            except ValueError as error:  # UnsupportedImageError, too small to shrink
                self._counts[topic]["dropped"] += 1
                self._warnings.warn(topic, cause_of(error), f"dropped a frame of {topic}: {error}")
                return
            self.cost.add(time.perf_counter() - started)
            publisher.publish(small)
            self._counts[topic]["shrunk"] += 1
            self._rates[topic].tick()

        return on_frame

    def _publish_diagnostics(self) -> None:
        """1 Hz: per topic the rate and counts of shrunk and dropped frames, and the work per frame [ms]."""
        cost = self.cost.summary_ms()
        statuses = []
        for topic, counts in self._counts.items():
            level = DiagnosticStatus.WARN if counts["dropped"] and not counts["shrunk"] else DiagnosticStatus.OK
            statuses.append(DiagnosticStatus(
                level=level, name=f"{self.get_name()}: {topic}", hardware_id=topic,
                message="frames dropped (see log)" if level else "ok",
                values=[key_value("output_hz", self._rates[topic].rate()), key_value("shrunk", counts["shrunk"]),
                        key_value("dropped", counts["dropped"]), key_value("shrink_ms_mean", cost["mean"]),
                        key_value("shrink_ms_p95", cost["p95"])]))
        self._diagnostics.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                  status=statuses))

    def _info_callback(self, topic: str, publisher, factor: int):
        def on_info(msg: CameraInfo) -> None:
            try:
                publisher.publish(shrunk_camera_info(msg, factor))
            except ValueError as error:
                self._warnings.warn(topic, cause_of(error), f"dropped a camera_info of {topic}: {error}")

        return on_info


def main(args: list[str] | None = None) -> int:
    """Console entry point: 0 after a clean stop, 1 when the filter cannot start."""
    return run_node("orpose_privacy_filter", PrivacyFilterNode, (ConfigError,), args)


if __name__ == "__main__":
    sys.exit(main())
