"""orpose_node: camera images in, multi-person 2D/3D poses, RViz markers and a debug image out.

Threads: the ROS executor only runs callbacks that store the newest message per camera
(LatestFrameStore) and the 1 Hz diagnostics; one worker thread takes the newest frame of every
camera, runs ONE batched forward for all of them and publishes each result with its frame's header.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from orpose_msgs.msg import PersonPoseArray
from orpose_ros.drawing import draw_poses
from orpose_ros.frame_store import LatestFrameStore
from orpose_ros.projection import Intrinsics
from orpose_ros.ros.diagnostics import CameraStats, diagnostics_msg
from orpose_ros.ros.image_conversion import (
    UnsupportedImageError,
    bgr_to_image_msg,
    compressed_msg_to_bgr,
    image_msg_to_bgr,
)
from orpose_ros.ros.markers import skeleton_markers
from orpose_ros.ros.model_loading import ModelLoadError, load_predictor
from orpose_ros.ros.parameters import DYNAMIC_PARAMETERS, ConfigError, NodeConfig, declare_parameters, read_config
from orpose_ros.ros.pose_messages import frame_poses_to_msg
from orpose_ros.runtime_stats import LatencyWindow

WARN_EVERY_S = 5.0
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


@dataclass
class Camera:
    """One image input: its topic, marker namespace, optional intrinsics and statistics."""

    topic: str
    compressed: bool
    namespace: str
    stats: CameraStats
    intrinsics: Intrinsics | None = None  # from camera_info, at camera_info's resolution


class OrPoseNode(Node):
    def __init__(self) -> None:
        super().__init__("orpose_node")
        declare_parameters(self)
        self.config: NodeConfig = read_config(self)
        self._dynamic = {name: self.get_parameter(name).value for name in DYNAMIC_PARAMETERS}
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self.predictor = load_predictor(self.config, self.get_logger())
        self.predictor.score_threshold = self._dynamic["score_threshold"]

        self._store: LatestFrameStore[tuple[Image | CompressedImage, float]] = LatestFrameStore()
        self._inference = LatencyWindow()
        self._end_to_end = LatencyWindow()
        self._last_warning: dict[tuple[str, str], float] = {}

        self._poses_pub = self.create_publisher(PersonPoseArray, "orpose/poses", OUTPUT_QOS)
        self._markers_pub = self.create_publisher(MarkerArray, "orpose/markers", OUTPUT_QOS)
        self._debug_pub = self.create_publisher(Image, "orpose/debug_image", OUTPUT_QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", OUTPUT_QOS)

        self.cameras = [self._subscribe_camera(i, topic) for i, topic in enumerate(self.config.image_topics)]
        self.create_timer(1.0, self._publish_diagnostics)

        self._worker = threading.Thread(target=self._work, name="orpose_inference", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"ready: {len(self.cameras)} camera(s) {list(self.config.image_topics)}, device "
            f"{self.predictor.device}, downsample x{self.predictor.downsample_factor}, "
            f"publishing on {self._poses_pub.topic_name}"
        )

    # --- inputs ---------------------------------------------------------------------------
    def _subscribe_camera(self, index: int, topic: str) -> Camera:
        compressed = topic.rstrip("/").endswith("/compressed")
        camera = Camera(topic, compressed, namespace=topic.strip("/") or f"camera_{index}", stats=CameraStats())
        qos = QoSProfile(
            depth=self.config.qos_depth,
            history=HistoryPolicy.KEEP_LAST,
            reliability=ReliabilityPolicy.RELIABLE
            if self.config.qos_reliability == "reliable"
            else ReliabilityPolicy.BEST_EFFORT,
        )

        def on_image(msg: Image | CompressedImage) -> None:
            camera.stats.input_rate.tick()
            self._store.put(index, (msg, time.monotonic()))

        self.create_subscription(CompressedImage if compressed else Image, topic, on_image, qos)
        if self.config.camera_info_topics:
            info_topic = self.config.camera_info_topics[index]

            def on_info(msg: CameraInfo) -> None:
                try:
                    camera.intrinsics = Intrinsics.from_k(msg.k, msg.width, msg.height)
                except ValueError as error:
                    self._warn_throttled(info_topic, "camera_info", f"ignoring camera_info on {info_topic}: {error}")

            self.create_subscription(CameraInfo, info_topic, on_info, 1)
        return camera

    # --- the worker -------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._store.closed:
            batch = self._store.take_all(timeout=0.2)
            if batch:
                try:
                    self._process(batch)
                except Exception as error:  # the node must outlive any bad batch
                    if self._store.closed or not self.context.ok():
                        return  # shutting down (e.g. Ctrl-C during an inference): nothing to report
                    self.get_logger().error(f"inference failed, frames skipped: {error!r}")

    def _process(self, batch: dict[int, tuple[Image | CompressedImage, float]]) -> None:
        frames, sources = [], []
        for index, (msg, received) in batch.items():
            camera = self.cameras[index]
            try:
                frame = compressed_msg_to_bgr(msg) if camera.compressed else image_msg_to_bgr(msg)
            except UnsupportedImageError as error:
                camera.stats.rejected += 1
                encoding = msg.format if camera.compressed else msg.encoding
                text = f"skipped a frame of {camera.topic} ({encoding}): {error}"
                self._warn_throttled(camera.topic, str(error), text)
                continue
            frames.append(frame)
            sources.append((camera, msg.header, received))
        if not frames:
            return

        debug = self._dynamic["publish_debug_image"]
        started = time.monotonic()
        results = self.predictor.predict(frames, return_model_view=debug)
        self._inference.add(time.monotonic() - started)

        for (camera, header, received), poses in zip(sources, results, strict=True):
            self._poses_pub.publish(frame_poses_to_msg(poses, header, camera.topic))
            if self._dynamic["publish_markers"]:
                intrinsics = self._intrinsics(camera, poses.width, poses.height)
                self._markers_pub.publish(
                    skeleton_markers(poses, header, camera.namespace, intrinsics, self.config.marker_depth)
                )
            if debug and poses.model_view is not None:
                self._debug_pub.publish(bgr_to_image_msg(draw_poses(poses.model_view, poses), header))
            camera.stats.processed_rate.tick()
            self._end_to_end.add(time.monotonic() - received)

    def _intrinsics(self, camera: Camera, width: int, height: int) -> Intrinsics:
        if camera.intrinsics is None:
            return Intrinsics.from_horizontal_fov(width, height, self.config.nominal_hfov_deg)
        return camera.intrinsics.scaled_to(width, height)

    # --- housekeeping ---------------------------------------------------------------------
    def _warn_throttled(self, topic: str, reason: str, text: str) -> None:
        """Log ``text`` at most every WARN_EVERY_S per topic and reason (so a bad stream cannot flood the log)."""
        now = time.monotonic()
        if now - self._last_warning.get((topic, reason), -WARN_EVERY_S) >= WARN_EVERY_S:
            self._last_warning[(topic, reason)] = now
            self.get_logger().warning(text)

    def _publish_diagnostics(self) -> None:
        for index, camera in enumerate(self.cameras):
            camera.stats.store = self._store.counters(index)
        self._diagnostics_pub.publish(
            diagnostics_msg(self.get_clock().now().to_msg(), self.get_name(), self.cameras,
                            self._inference.summary_ms(), self._end_to_end.summary_ms())
        )

    def _on_set_parameters(self, params: list) -> SetParametersResult:
        for param in params:
            if param.name not in DYNAMIC_PARAMETERS:
                return SetParametersResult(successful=False, reason=f"{param.name} is read-only; restart the node")
        for param in params:
            self._dynamic[param.name] = param.value
            if param.name == "score_threshold":
                self.predictor.score_threshold = param.value
        return SetParametersResult(successful=True)

    def close(self) -> None:
        """Stop the worker and release the model (frees GPU memory)."""
        self._store.close()
        self._worker.join(timeout=10.0)
        self.predictor = None


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    rclpy.init(args=args)
    node: OrPoseNode | None = None
    code = 0
    try:
        node = OrPoseNode()
        rclpy.spin(node)
    except (ConfigError, ModelLoadError) as error:
        rclpy.logging.get_logger("orpose_node").fatal(str(error))
        code = 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
