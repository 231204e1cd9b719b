"""orpose_node: camera images in, multi-person 2D/3D poses, RViz markers and a debug image out.

Threads: the executor only runs callbacks that keep the newest message per camera
(LatestFrameStore), the camera_info callbacks and the 1 Hz diagnostics; one worker thread takes the
newest frame of every camera, checks each alone, runs ONE batched forward for the good ones and
publishes each result with its frame's header. Shutdown cancels a running forward pass.

A lifecycle node (`ManagedNode`): the model is loaded at configure and released at cleanup; the
subscriptions, publishers, timer and worker live while it is active.
"""

from __future__ import annotations

import sys
import threading
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from orpose_msgs.msg import PersonPoseArray
from orpose_ros import topics
from orpose_ros.backends import BackendError, PoseBackend, build_backend
from orpose_ros.camera_pipeline import CameraFrame, CameraModels, CameraPipeline, check_frame, process_frames
from orpose_ros.drawing import draw_poses
from orpose_ros.fusion.pipeline import FusionOptions
from orpose_ros.fusion.warm_up import compile_kernels
from orpose_ros.ros.camera_input import CameraInput, CameraInputError
from orpose_ros.ros.config_files import load_calibration_parameter
from orpose_ros.ros.diagnostics import diagnostics_msg
from orpose_ros.ros.entry_point import SIGINT_GRACE_S, run_node
from orpose_ros.ros.frame_store import LatestFrameStore
from orpose_ros.ros.heap import HeapTrimmer
from orpose_ros.ros.image_conversion import UnsupportedImageError, bgr_to_image_msg
from orpose_ros.ros.log_bridge import ThrottledWarnings, bridge_core_logging, cause_of, unbridge_core_logging
from orpose_ros.ros.managed_node import ManagedNode
from orpose_ros.ros.markers import frame_markers
from orpose_ros.ros.node_config import RESTORE_FROM_CAMERA_INFO, NodeConfig
from orpose_ros.ros.parameters import ConfigError
from orpose_ros.ros.pose_messages import frame_result_to_msg
from orpose_ros.ros.rate_stats import LatencyWindow
from orpose_ros.ros.stamps import stamp_ns

WARN_EVERY_S = 5.0
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
# camera_info: best effort receives from reliable and best-effort publishers alike (drivers use both).
CAMERA_INFO_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)


class OrPoseNode(ManagedNode[NodeConfig]):
    """configure: load the model and the calibration; activate: subscribe, publish and start the worker;
    deactivate: stop both (the model stays loaded); cleanup: release the model and its GPU memory."""

    expected_errors = (ConfigError, BackendError)

    def __init__(self) -> None:
        super().__init__("orpose_node", NodeConfig, on_change=self._on_config_change)
        self.predictor: PoseBackend | None = None
        self.calibration = None
        self.cameras: list[CameraInput] = []
        self._store: LatestFrameStore[tuple[Image | CompressedImage, float]] = LatestFrameStore()
        self._worker: threading.Thread | None = None
        self._interrupted = False
        self._inference = LatencyWindow()
        self._end_to_end = LatencyWindow()
        self._warnings = ThrottledWarnings(self.get_logger(), WARN_EVERY_S)
        self._heap = HeapTrimmer()
        self._log_handler = None

    def load(self, config: NodeConfig) -> str:
        self._log_handler = bridge_core_logging(self.get_logger())
        self.calibration = load_calibration_parameter(config.calibration)
        self.predictor = build_backend(config.backend_options())
        seconds = compile_kernels(FusionOptions(placement=config.placement_options()))
        self.get_logger().info(f"placement loops compiled (or loaded from numba's cache) in {seconds:.1f} s")
        return f"model on {self.predictor.device}, downsample x{self.predictor.downsample_factor}"

    def start(self) -> str:
        config = self.config
        self._store = LatestFrameStore()
        self._poses_pub = self.create_publisher(PersonPoseArray, topics.POSES, OUTPUT_QOS)
        self._markers_pub = self.create_publisher(MarkerArray, topics.MARKERS, OUTPUT_QOS)
        self._debug_pub = self.create_publisher(Image, topics.DEBUG_IMAGE, OUTPUT_QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, OUTPUT_QOS)
        self.cameras = [self._subscribe_camera(i, topic) for i, topic in enumerate(config.image_topics)]
        self.create_timer(1.0, self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, args=(self._store,), name="orpose_inference")
        self._worker.start()
        return (f"{len(self.cameras)} camera(s) {list(config.image_topics)}, device "
                f"{self.predictor.device}, downsample x{self.predictor.downsample_factor}"
                f"{', frames arrive shrunk' if config.restore_size else ''}, "
                f"publishing on {self._poses_pub.topic_name}")

    def stop(self) -> None:
        """Stop the worker: it finishes the batch it is on (cancelled when the process is being stopped)."""
        self._store.close()
        if self._worker is not None:
            self._worker.join(timeout=SIGINT_GRACE_S - 1.0 if self._interrupted else None)
            if self._worker.is_alive():
                self.get_logger().error("the inference thread did not stop in time")
            self._worker = None
        self.cameras = []

    def release(self) -> None:
        """Release the model and its GPU memory, and give the freed heap back to the system."""
        if self.predictor is not None:
            self.predictor.close()
        self.predictor = None
        self.calibration = None
        self._heap.trim_now()
        if self._log_handler is not None:
            unbridge_core_logging(self._log_handler)
            self._log_handler = None

    def interrupt(self) -> None:
        """Cancel a running forward pass: the process is being stopped."""
        self._interrupted = True
        self._store.close()
        if self.predictor is not None:
            self.predictor.cancel()

    @property
    def config(self) -> NodeConfig:
        """The current parameters (replaced whole when a dynamic one changes); None while unconfigured."""
        return self.parameters.config

    # --- inputs ---------------------------------------------------------------------------
    def _subscribe_camera(self, index: int, topic: str) -> CameraInput:
        config = self.config
        models = CameraModels.of_topic(topic, self.calibration, index, config.nominal_hfov_deg)
        pipeline = CameraPipeline(topic, models, config.camera_people())
        camera = CameraInput(index, topic, config.info_topic(index), pipeline, fixed_restore=config.fixed_restore_size,
                             restore_from_info=config.restore_size == RESTORE_FROM_CAMERA_INFO)
        if self.calibration is not None and models.calibrated is None:
            self.get_logger().warning(f"{topic} is not in the calibration {config.calibration}: its people are "
                                      "placed with its camera_info alone")
        qos = config.image_qos()

        def on_image(msg: Image | CompressedImage) -> None:
            camera.stats.input_rate.tick()
            self._store.put(index, (msg, time.monotonic()))

        def on_info(msg: CameraInfo) -> None:
            try:
                camera.update_info(msg)
            except CameraInputError as error:
                camera.stats.info_rejected += 1
                self._warnings.warn(camera.info_topic, cause_of(error), f"ignored a camera_info on "
                                     f"{camera.info_topic}: {error}")

        try:
            self.create_subscription(CompressedImage if camera.compressed else Image, topic, on_image, qos)
            if camera.info_topic:
                self.create_subscription(CameraInfo, camera.info_topic, on_info, CAMERA_INFO_QOS)
        except (rclpy.exceptions.InvalidTopicNameException, ValueError) as error:
            raise ConfigError(f"parameter 'image_topics' or 'camera_info_topics': {error}") from None
        return camera

    # --- the worker -------------------------------------------------------------------------
    def _work(self, store: LatestFrameStore) -> None:
        while not store.closed:
            batch = store.take_all(timeout=0.2)
            if not batch:
                continue
            try:
                self._process(batch)
                self._heap.maybe_trim()
            except Exception as error:  # the node must outlive any bad batch
                if self._interrupted or not self.context.ok():
                    return  # shutting down: close() cancelled the forward pass
                self.get_logger().error(f"inference failed, frames skipped: {error!r}")

    def _process(self, batch: dict[int, tuple[Image | CompressedImage, float]]) -> None:
        frames: list[CameraFrame] = []
        sources = []
        for index, (msg, received) in batch.items():
            camera = self.cameras[index]
            try:
                frames.append(check_frame(self.predictor, camera.pipeline, camera.decode(msg), stamp_ns(msg.header),
                                          msg.header.frame_id, camera.restore_to()))
            except (UnsupportedImageError, CameraInputError, ValueError) as error:
                camera.stats.rejected += 1
                self._warnings.warn(camera.topic, cause_of(error),
                                     f"skipped a frame of {camera.topic} ({camera.describe(msg)}): {error}")
                continue
            sources.append((camera, msg.header, received))
        if not frames:
            return

        config = self.config
        started = time.monotonic()
        results = process_frames(self.predictor, frames, return_model_view=config.publish_debug_image)
        self._inference.add(time.monotonic() - started)

        for (camera, header, received), result in zip(sources, results, strict=True):
            self._poses_pub.publish(frame_result_to_msg(result, header))
            if config.publish_markers:
                self._markers_pub.publish(frame_markers(result, header, config.marker_depth))
            if config.publish_debug_image and result.model_view is not None:
                self._debug_pub.publish(bgr_to_image_msg(draw_poses(result.model_view, result.poses), header))
            camera.stats.processed_rate.tick()
            self._end_to_end.add(time.monotonic() - received)

    # --- housekeeping ---------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        for index, camera in enumerate(self.cameras):
            camera.stats.store = self._store.counters(index)
        self._diagnostics_pub.publish(
            diagnostics_msg(self.get_clock().now().to_msg(), self.get_name(), self.cameras,
                            self._inference.summary_ms(), self._end_to_end.summary_ms())
        )

    def _on_config_change(self, old: NodeConfig, new: NodeConfig) -> None:
        if new.score_threshold != old.score_threshold:
            self.predictor.score_threshold = new.score_threshold
        self.get_logger().info(f"parameters changed: {_changes(old, new)}")


def _changes(old: NodeConfig, new: NodeConfig) -> str:
    return ", ".join(f"{name} {getattr(old, name)!r} -> {getattr(new, name)!r}"
                     for name in vars(new) if getattr(old, name) != getattr(new, name)) or "none"


def main(args: list[str] | None = None) -> int:
    """Console entry point: 0 after a clean stop (Ctrl-C, SIGTERM), 1 when the node cannot start."""
    return run_node("orpose_node", OrPoseNode, (ConfigError, BackendError), args, exit_at_once=True)


if __name__ == "__main__":
    sys.exit(main())
