"""orpose_fusion_node: the people of several calibrated cameras located in the room, with identities.

Subscribes to the /orpose/poses of one or more orpose_node (possibly on other machines), groups the
frames of the calibration's cameras taken at the same moment (header stamps within a tolerance), fuses
each group (`orpose_ros.fusion`: association, triangulation, single-camera placement, tracking) and
publishes /orpose/people (orpose_msgs/People3D, world frame), /orpose/people_markers and diagnostics.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from orpose_msgs.msg import People3D, PersonPose, PersonPoseArray
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.grouping import Group, StampGrouper
from orpose_ros.fusion.pipeline import FusionOptions
from orpose_ros.fusion.smoothing import OneEuroOptions
from orpose_ros.fusion.stream import FusionStream, StreamOptions
from orpose_ros.fusion.tracking import TrackerOptions, TrackingError
from orpose_ros.geometry.calibration import CalibrationError, PendingCamera, RoomCalibration
from orpose_ros.ros.camera_input import CameraInputError, camera_from_camera_info
from orpose_ros.ros.config_files import load_calibration_parameter
from orpose_ros.ros.diagnostics import key_value
from orpose_ros.ros.entry_point import run_node
from orpose_ros.ros.log_bridge import ThrottledWarnings, bridge_core_logging, cause_of, unbridge_core_logging
from orpose_ros.ros.parameters import ConfigError, ParameterSet, parameter, topics_problem
from orpose_ros.ros.people_markers import people_markers
from orpose_ros.ros.pose_messages import people_to_msg
from orpose_ros.ros.rate_stats import LatencyWindow, RateMeter
from orpose_ros.ros.stamps import stamp_seconds
from orpose_ros.ros.tf_publishing import make_tf_publisher

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
CAMERA_INFO_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)


@dataclass(frozen=True)
class FusionConfig:
    """The validated parameters of orpose_fusion_node."""

    calibration: str = parameter("", "Room calibration file (YAML, or MVOR's annotation JSON); required.",
                                 check=lambda v: "" if v else "is empty", expect="a calibration file")
    pose_topics: tuple[str, ...] = parameter(
        ("orpose/poses",), "orpose_msgs/PersonPoseArray topics of the orpose_node instances; a message's "
        "camera is the calibration camera whose image_topic is its source_topic.", check=topics_problem,
        expect="a non-empty list of distinct topic names")
    stamp_tolerance_s: float = parameter(0.05, "Frames of different cameras whose stamps differ by at most "
                                         "this are one moment [s].", float_range=(0.0, 10.0))
    max_wait_s: float = parameter(1.0, "How long a moment waits for the cameras that have not sent it yet "
                                  "[s, wall clock].", float_range=(0.01, 60.0))
    track_max_age_s: float = parameter(1.0, "A person unseen for longer loses their identity [s].",
                                       float_range=(0.05, 60.0))
    smoothing: bool = parameter(False, "Smooth the joints over time per identity (One-Euro filter).")
    smoothing_min_cutoff_hz: float = parameter(1.0, "One-Euro minimum cutoff frequency [Hz].",
                                               float_range=(0.01, 100.0))
    smoothing_beta: float = parameter(1.0, "One-Euro speed coefficient [Hz per m/s].", float_range=(0.0, 100.0))
    single_view: bool = parameter(True, "Also place people seen by one camera only (skeleton and floor).")
    publish_markers: bool = parameter(True, "Publish RViz markers on orpose/people_markers.", dynamic=True)
    publish_tf: bool = parameter(True, "Publish TF: the cameras on /tf_static (world frame -> each camera's "
                                 "frame_id) and each person's body_<id> frame (REP 155) on /tf; needs tf2_msgs.")
    publish_joint_frames: bool = parameter(False, "With publish_tf, also a body_<id>_<joint> frame per placed joint.")

    def stream_options(self) -> StreamOptions:
        smoothing = OneEuroOptions(self.smoothing_min_cutoff_hz, self.smoothing_beta) if self.smoothing else None
        return StreamOptions(FusionOptions(single_view=self.single_view),
                             TrackerOptions(max_age_s=self.track_max_age_s), smoothing,
                             predicted=True)  # people unseen for up to track_max_age_s are published as predicted


class FusionNode(Node):
    def __init__(self) -> None:
        super().__init__("orpose_fusion_node")
        self._log_handler = bridge_core_logging(self.get_logger())
        self.parameters = ParameterSet(FusionConfig)
        config = self.parameters.declare(self)
        calibration = load_calibration_parameter(config.calibration)
        assert calibration is not None
        self.calibration: RoomCalibration = calibration
        self.stream = FusionStream(calibration, config.stream_options())
        self.grouper = StampGrouper(calibration.names, config.stamp_tolerance_s, config.max_wait_s)
        self._warnings = ThrottledWarnings(self.get_logger())
        self._fusion_time = LatencyWindow()
        self._group_rate = RateMeter()
        self._missing = dict.fromkeys(calibration.names, 0)
        self._counts = {"groups": 0, "unknown_camera": 0, "late": 0, "failed": 0}

        self._people_pub = self.create_publisher(People3D, "orpose/people", RELIABLE)
        self._markers_pub = self.create_publisher(MarkerArray, "orpose/people_markers", RELIABLE)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", RELIABLE)
        self._tf = make_tf_publisher(self, calibration, config.publish_joint_frames) if config.publish_tf else None
        for topic in config.pose_topics:
            self.create_subscription(PersonPoseArray, topic, self._on_poses, RELIABLE)
        for camera in calibration.cameras:
            if isinstance(camera, PendingCamera) and camera.camera_info_topic:
                self.create_subscription(CameraInfo, camera.camera_info_topic, self._info_callback(camera.name),
                                         CAMERA_INFO_QOS)
        self.create_timer(0.1, self._flush)
        self.create_timer(1.0, self._publish_diagnostics)
        pending = f", waiting for camera_info of {list(calibration.pending_names)}" if calibration.pending_names else ""
        self.get_logger().info(f"ready: {len(calibration.names)} camera(s) {list(calibration.names)} in frame "
                               f"'{calibration.world_frame}', poses from {list(config.pose_topics)}{pending}")

    @property
    def config(self) -> FusionConfig:
        return self.parameters.config

    def _info_callback(self, name: str):
        def on_info(msg: CameraInfo) -> None:
            try:
                info = camera_from_camera_info(msg, name)
                self.calibration = self.calibration.with_intrinsics(name, info.K, info.width, info.height,
                                                                    info.distortion)
            except (CameraInputError, CalibrationError) as error:
                self._warnings.warn(name, cause_of(error), f"ignored a camera_info of {name}: {error}")

        return on_info

    def _camera_of(self, msg: PersonPoseArray) -> str | None:
        camera = self.calibration.camera_for(msg.source_topic, msg.header.frame_id)
        return camera.name if camera is not None else None

    def _on_poses(self, msg: PersonPoseArray) -> None:
        camera = self._camera_of(msg)
        if camera is None:
            self._counts["unknown_camera"] += 1
            self._warnings.warn(msg.source_topic, "unknown", f"poses of {msg.source_topic} (frame "
                                f"'{msg.header.frame_id}') match no camera of the calibration: ignored")
            return
        late = self.grouper.late
        self._fuse(self.grouper.add(camera, stamp_seconds(msg.header), msg, time.monotonic()))
        self._counts["late"] += self.grouper.late - late

    def _flush(self) -> None:
        self._fuse(self.grouper.flush(time.monotonic()))

    def _fuse(self, groups: list[Group]) -> None:
        for group in groups:
            started = time.perf_counter()
            try:
                people, cameras = self._fuse_group(group)
            except (CalibrationError, ValueError) as error:
                self._counts["failed"] += 1
                self._warnings.warn("fusion", cause_of(error), f"could not fuse a group: {error}")
                continue
            self._fusion_time.add(time.perf_counter() - started)
            self._group_rate.tick()
            self._counts["groups"] += 1
            for name in group.missing:
                self._missing[name] += 1
            # the group's stamp is its latest frame's: copied, not rebuilt from float seconds (inexact to ~100 ns)
            latest = max(group.items.values(), key=lambda msg: stamp_seconds(msg.header))
            header = Header(stamp=latest.header.stamp, frame_id=self.calibration.world_frame)
            missing = [name for name in self.calibration.names if name not in cameras]
            self._people_pub.publish(people_to_msg(people, header, cameras, missing))
            if self.config.publish_markers:
                self._markers_pub.publish(people_markers(header, people))  # predicted people faded
            if self._tf is not None:
                self._tf.publish_people(header, people)

    def _fuse_group(self, group: Group) -> tuple[list, list[str]]:
        """The tracked people of one group, and the cameras that made it (those with intrinsics)."""
        usable = {name: msg for name, msg in group.items.items() if name not in self.calibration.pending_names}
        for name in set(group.items) - set(usable):
            self._warnings.warn(name, "pending", f"{name}: no camera_info yet, its poses wait")
        sizes = {name: (msg.image_width, msg.image_height) for name, msg in usable.items()}
        self.stream.calibration = self.calibration.for_image_sizes(sizes)
        self._match_keypoint_noise(max((msg.downsample_factor for msg in usable.values()), default=1))
        detections = {name: [_detection(person, i) for i, person in enumerate(msg.persons)]
                      for name, msg in usable.items()}
        try:
            people = self.stream.process(group.stamp_s, detections)
        except TrackingError:  # stamps went backwards (a replay restarted): new tracks, ids still never reused
            self.stream.tracker.reset()
            people = self.stream.process(group.stamp_s, detections)
        return people, [name for name in self.calibration.names if name in usable]

    def _match_keypoint_noise(self, factor: int) -> None:
        """Keypoints of frames shrunk by a privacy factor are that many pixels coarse: widen the matching."""
        options = self.stream.options
        noise = float(max(factor, 1))
        if options.fusion.association.keypoint_noise_px != noise:
            association = replace(options.fusion.association, keypoint_noise_px=noise)
            self.stream.options = replace(options, fusion=replace(options.fusion, association=association))

    def _publish_diagnostics(self) -> None:
        fusion = self._fusion_time.summary_ms()
        values = [key_value("groups_hz", self._group_rate.rate()), key_value("groups", self._counts["groups"]),
                  key_value("fusion_ms_mean", fusion["mean"]), key_value("fusion_ms_p95", fusion["p95"]),
                  key_value("late_frames", self._counts["late"]),
                  key_value("unknown_camera_frames", self._counts["unknown_camera"]),
                  key_value("failed_groups", self._counts["failed"])]
        values += [key_value(f"missing_{name}", n) for name, n in self._missing.items()]
        level = DiagnosticStatus.WARN if self._counts["failed"] or self._counts["unknown_camera"] else \
            DiagnosticStatus.OK
        status = DiagnosticStatus(level=level, name=f"{self.get_name()}: fusion", message="ok" if not level else
                                  "frames ignored or groups failed (see log)", values=values)
        self._diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                      status=[status]))

    def close(self) -> None:
        unbridge_core_logging(self._log_handler)


def _detection(person: PersonPose, index: int) -> PersonDetection:
    """A PersonPose message as fusion's plain input."""
    keypoints_2d = [(k.x, k.y, k.score) for k in person.keypoints_2d]
    keypoints_3d = [(p.x, p.y, p.z) for p in person.keypoints_3d]
    return PersonDetection(keypoints_2d, float(person.score), keypoints_3d, index)


def main(args: list[str] | None = None) -> int:
    """Console entry point: 0 after a clean stop, 1 when the node cannot start."""
    return run_node("orpose_fusion_node", FusionNode, (ConfigError,), args)


if __name__ == "__main__":
    sys.exit(main())
