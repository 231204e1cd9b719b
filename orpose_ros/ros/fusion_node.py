"""orpose_fusion_node: the people of several calibrated cameras located in the room, with identities.

Subscribes to the /orpose/poses of one or more orpose_node (possibly on other machines), groups the
frames of the calibration's cameras taken at the same moment (header stamps within a tolerance), fuses
each group (`orpose_ros.fusion`: association, triangulation, single-camera placement, tracking) and
publishes /orpose/people (orpose_msgs/People3D, world frame), /orpose/people/tracked (orpose_msgs/TrackedIds),
/orpose/people_markers, TF and diagnostics. The cameras come from a calibration file, or, with
camera_poses_from_tf, from static TF and camera_info (`ros.tf_camera_parameters`, `ros.tf_camera_poses`).
A lifecycle node (`ManagedNode`): the cameras are loaded at configure; it subscribes and publishes only
while active.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from orpose_msgs.msg import People3D, PersonPose, PersonPoseArray, TrackedIds
from orpose_ros import topics
from orpose_ros.fusion.clocks import HEALTH_WINDOW_S
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.floor import parse_floor_choice, stream_floor
from orpose_ros.fusion.grouping import MAX_CLOCK_OFFSET_S, Group, ImplausibleStampError, StampGrouper
from orpose_ros.fusion.joint_output import JointOutputOptions
from orpose_ros.fusion.pipeline import FusionOptions
from orpose_ros.fusion.stream import CameraMoment, FusionStream, StreamOptions
from orpose_ros.fusion.support import SupportOptions
from orpose_ros.fusion.tracking import TrackerOptions
from orpose_ros.fusion.warm_up import compile_kernels
from orpose_ros.geometry.calibration import CalibrationError, PendingCamera, RoomCalibration
from orpose_ros.ros import parameter_groups as groups
from orpose_ros.ros import tf_camera_parameters as tf_cameras
from orpose_ros.ros.camera_input import CameraInputError, camera_from_camera_info
from orpose_ros.ros.config_files import load_calibration_parameter
from orpose_ros.ros.diagnostics import key_value
from orpose_ros.ros.entry_point import run_node
from orpose_ros.ros.log_bridge import ThrottledWarnings, bridge_core_logging, cause_of, unbridge_core_logging
from orpose_ros.ros.managed_node import ManagedNode
from orpose_ros.ros.parameters import ConfigError, parameter, topics_problem
from orpose_ros.ros.people_markers import people_markers
from orpose_ros.ros.pose_messages import people_to_msg
from orpose_ros.ros.rate_stats import LatencyWindow, RateMeter
from orpose_ros.ros.stamps import stamp_seconds
from orpose_ros.ros.tf_camera_poses import TfCameraListener
from orpose_ros.ros.tf_publishing import make_tf_publisher
from orpose_ros.ros.tracked_ids import tracked_ids_msg

#: A camera's clock offset is judged from at least this many results.
MIN_OFFSETS_FOR_DRIFT = 5
#: How long a camera's poses may wait for its first camera_info before a warning [s, wall clock]: drivers publish
#: one with every image, so only a start-up race (poses heard before the camera_info subscription matched) is
#: shorter; a missing camera_info is longer.
CAMERA_INFO_GRACE_S = 2.0
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
CAMERA_INFO_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)


def _floor_problem(value: str) -> str:
    try:
        parse_floor_choice(value)
    except ValueError:
        return "is not a floor"
    return ""


@dataclass(frozen=True)
class FusionConfig(groups.TrackingGroup, tf_cameras.TfCamerasGroup):
    """The validated parameters of orpose_fusion_node."""

    autostart: bool = groups.autostart()
    calibration: str = parameter("", "Room calibration file (YAML, or MVOR's annotation JSON); required unless "
                                 "camera_poses_from_tf.")
    camera_poses_from_tf: bool = tf_cameras.camera_poses_from_tf()
    world_frame: str = tf_cameras.world_frame()
    camera_frames: tuple[str, ...] = tf_cameras.camera_frames()
    camera_info_topics: tuple[str, ...] = tf_cameras.camera_info_topics()
    camera_image_topics: tuple[str, ...] = tf_cameras.camera_image_topics()
    pose_topics: tuple[str, ...] = parameter(
        ("orpose/poses",), "orpose_msgs/PersonPoseArray topics of the orpose_node instances; a message's "
        "camera is the calibration camera whose image_topic is its source_topic.", check=topics_problem,
        expect="a non-empty list of distinct topic names")
    stamp_tolerance_s: float = parameter(0.05, "Frames of different cameras whose stamps differ by at most "
                                         "this are one moment [s].", float_range=(0.0, 10.0))
    max_wait_s: float = parameter(1.0, "How long a moment waits for the cameras that have not sent it yet "
                                  "[s, wall clock].", float_range=(0.01, 60.0))
    max_clock_offset_s: float = parameter(MAX_CLOCK_OFFSET_S, "A camera's result stamped further than this from "
                                          "the other cameras' latest stamps is ignored alone (a wrong clock) [s].",
                                          float_range=(0.05, 3600.0))
    track_max_age_s: float = groups.track_max_age_s()
    smoothing: bool = groups.smoothing()
    smoothing_min_cutoff_hz: float = groups.smoothing_min_cutoff_hz()
    smoothing_beta: float = groups.smoothing_beta()
    single_view: bool = parameter(True, "Also place people seen by one camera only (skeleton and floor).")
    floor: str = parameter("calibration", "The floor: 'calibration' (its floor; self-calibrated as 'auto' when it "
                           "has none), 'auto' (self-calibrated under the people seen by several cameras in the "
                           "first floor_moments moments), 'none', or a height along the world z axis [m].",
                           check=_floor_problem, expect="calibration, auto, none or a height in metres")
    floor_moments: int = parameter(30, "Moments with people seen by several cameras that a self-calibrated floor is "
                                   "estimated from; the moments before are fused without a floor.",
                                   int_range=(1, 100000))
    single_view_min_frames: int = parameter(SupportOptions.single_view_min_frames, "A person seen by one camera "
                                            "only (never by several) is published once it was seen with its torso "
                                            "in this many moments (1: at once); until then it is tracked, not "
                                            "published.", int_range=(1, 100))
    joint_min_views: int = parameter(1, "Publish the joints of a person seen by several cameras placed from at least "
                                     "this many cameras (1: also those one camera saw, filled in; 2: triangulated "
                                     "joints only). Each joint says its views and uncertainty.", int_range=(1, 16))
    joint_max_sigma_m: float = parameter(0.0, "Publish only the joints whose uncertainty (standard deviation along "
                                         "the least certain direction) is at most this [m]; 0 = no cap.",
                                         float_range=(0.0, 10.0))
    publish_markers: bool = parameter(True, "Publish RViz markers on orpose/people_markers.", dynamic=True)
    publish_tf: bool = parameter(True, "Publish TF: the cameras on /tf_static (world frame -> each camera's "
                                 "frame_id) and each person's body_<id> frame (REP 155) on /tf; needs tf2_msgs.")
    publish_camera_tf: bool = parameter(True, "With publish_tf, also the calibration's cameras on /tf_static; false "
                                        "where your TF already holds them (a URDF, your calibration tools). Never "
                                        "with camera_poses_from_tf: the cameras are then TF's own.")
    publish_joint_frames: bool = parameter(False, "With publish_tf, also a <joint>_<id> frame (REP 155: e.g. "
                                           "left_wrist_3) per placed joint.")

    def check(self) -> None:
        """Checks across parameters; raises ConfigError."""
        self.check_cameras()

    def stream_options(self) -> StreamOptions:
        output = JointOutputOptions(self.joint_min_views, self.joint_max_sigma_m or float("inf"))
        return StreamOptions(FusionOptions(single_view=self.single_view),
                             self.tracker_options(TrackerOptions.measurement_noise_m), self.smoothing_options(),
                             predicted=True,  # people unseen for up to track_max_age_s are published as predicted
                             output=output, support=SupportOptions(single_view_min_frames=self.single_view_min_frames))


class FusionNode(ManagedNode[FusionConfig]):
    """configure: load the calibration; activate: subscribe and publish (TF too); cleanup: forget the
    calibration and the tracks."""

    def __init__(self) -> None:
        super().__init__("orpose_fusion_node", FusionConfig)

    def load(self, config: FusionConfig) -> str:
        self._log_handler = bridge_core_logging(self.get_logger())
        from_tf = config.camera_poses_from_tf
        calibration = config.tf_calibration() if from_tf else load_calibration_parameter(config.calibration)
        assert calibration is not None
        floor, floor_moments, floor_line = stream_floor(parse_floor_choice(config.floor), calibration.floor,
                                                        config.floor_moments)
        calibration = calibration.with_floor(floor)
        self.calibration: RoomCalibration = calibration
        self.stream = FusionStream(calibration, replace(config.stream_options(), floor_moments=floor_moments))
        self.get_logger().info(floor_line)
        seconds = compile_kernels(self.stream.options.fusion)
        self.get_logger().info(f"fusion loops compiled (or loaded from numba's cache) in {seconds:.1f} s")
        self.grouper = StampGrouper(calibration.names, config.stamp_tolerance_s, config.max_wait_s,
                                    max_clock_offset_s=config.max_clock_offset_s)
        self._warnings = ThrottledWarnings(self.get_logger())
        self._waiting_since: dict[str, float] = {}  # camera -> when its poses first waited for camera_info
        self._fusion_time = LatencyWindow()
        self._group_rate = RateMeter()
        self._missing = dict.fromkeys(calibration.names, 0)
        self._counts = {"groups": 0, "unknown_camera": 0, "late": 0, "failed": 0, "bad_size": 0,
                        "rejected_people": 0}
        source = "static TF and camera_info" if from_tf else config.calibration
        return f"{len(calibration.names)} camera(s) {list(calibration.names)} from {source}"

    def start(self) -> str:
        config, calibration = self.config, self.calibration
        from_tf = config.camera_poses_from_tf
        self._people_pub = self.create_publisher(People3D, topics.PEOPLE, RELIABLE)
        self._markers_pub = self.create_publisher(MarkerArray, topics.PEOPLE_MARKERS, RELIABLE)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, RELIABLE)
        self._tracked_pub = self.create_publisher(TrackedIds, topics.PEOPLE_TRACKED, RELIABLE)
        cameras = None if from_tf or not config.publish_camera_tf else calibration  # never TF's own cameras again
        self._tf = make_tf_publisher(self, cameras, config.publish_joint_frames) if config.publish_tf else None
        self._tf_cameras = TfCameraListener(self, calibration.world_frame, calibration.names, self._on_camera_pose) \
            if from_tf else None
        for topic in config.pose_topics:
            self.create_subscription(PersonPoseArray, topic, self._on_poses, RELIABLE)
        for camera in calibration.cameras:
            if isinstance(camera, PendingCamera) and camera.camera_info_topic:
                self.create_subscription(CameraInfo, camera.camera_info_topic, self._info_callback(camera.name),
                                         CAMERA_INFO_QOS)
        self.create_timer(0.1, self._flush)
        self.create_timer(1.0, self._publish_diagnostics)
        pending = f", waiting for camera_info of {list(calibration.pending_names)}" if calibration.pending_names else ""
        return (f"{len(calibration.names)} camera(s) {list(calibration.names)} in frame "
                f"'{calibration.world_frame}', poses from {list(config.pose_topics)}{pending}")

    def stop(self) -> None:
        self._tf = None  # its publishers are the node's: destroyed with the others
        self._tf_cameras = None  # and so are its subscriptions

    def release(self) -> None:
        for name in ("calibration", "stream", "grouper"):
            self.__dict__.pop(name, None)
        handler = self.__dict__.pop("_log_handler", None)
        if handler is not None:
            unbridge_core_logging(handler)

    def _on_camera_pose(self, name: str, T_world_from_camera: np.ndarray) -> None:
        """Camera ``name``'s optical frame in the world frame, (4, 4) [m], from static TF."""
        self.calibration = self.calibration.with_pose(name, T_world_from_camera)

    def _unposed(self) -> tuple[str, ...]:
        """The cameras whose poses are ignored: with camera_poses_from_tf, those without a static chain."""
        return self._tf_cameras.unposed if self._tf_cameras is not None else ()

    def _info_callback(self, name: str):
        def on_info(msg: CameraInfo) -> None:
            try:
                info = camera_from_camera_info(msg, name)
                self.calibration = self.calibration.with_intrinsics(name, info.K, info.width, info.height,
                                                                    info.distortion)
                self._waiting_since.pop(name, None)
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
        problem = self._size_problem(camera, msg)
        if problem:
            self._counts["bad_size"] += 1
            self._warnings.warn(camera, "size", f"poses of {camera}: {problem}: ignored")
            return
        late, restarts = self.grouper.late, self.grouper.restarts
        try:
            groups = self.grouper.add(camera, stamp_seconds(msg.header), msg, time.monotonic())
        except ImplausibleStampError as error:
            self._warnings.warn(camera, "clock", str(error))
            return
        self._counts["late"] += self.grouper.late - late
        if self.grouper.restarts != restarts:
            self.get_logger().info(f"time jumped (to {stamp_seconds(msg.header):.3f} s, from {camera}): grouping "
                                   "and tracks start again")
        self._fuse(groups)

    def _size_problem(self, camera: str, msg: PersonPoseArray) -> str:
        """Why the image size of ``camera``'s message cannot be its calibration's ('' when it can)."""
        if camera in self.calibration.pending_names:
            return ""  # checked once its camera_info has come
        try:
            self.calibration.for_image_sizes({camera: (msg.image_width, msg.image_height)})
        except CalibrationError as error:
            return str(error)
        return ""

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
            for rejection in self.stream.rejections:
                self._counts["rejected_people"] += 1
                self._warnings.warn(rejection.camera, rejection.cause, rejection.detail)
            for name in group.missing:
                self._missing[name] += 1
            # the group's stamp is its latest frame's: copied, not rebuilt from float seconds (inexact to ~100 ns)
            latest = max(group.items.values(), key=lambda msg: stamp_seconds(msg.header))
            header = Header(stamp=latest.header.stamp, frame_id=self.calibration.world_frame)
            missing = [name for name in self.calibration.names if name not in cameras]
            self._people_pub.publish(people_to_msg(people, header, cameras, missing))
            if self.config.publish_markers:
                self._markers_pub.publish(people_markers(header, people))  # predicted people faded
            frames = self._tf.publish_people(header, people) if self._tf is not None else set()
            self._tracked_pub.publish(tracked_ids_msg(header, people, frames))

    def _fuse_group(self, group: Group) -> tuple[list, list[str]]:
        """The tracked people of one group, and the cameras that made it (those with intrinsics)."""
        unposed = self._unposed()  # said once by the TF listener
        usable = {name: msg for name, msg in group.items.items()
                  if name not in self.calibration.pending_names and name not in unposed}
        waiting = set(group.items) - set(usable) - set(unposed)
        for name, waited_s in overdue_cameras(self._waiting_since, waiting, time.monotonic(), CAMERA_INFO_GRACE_S):
            topic = self.calibration.entry(name).camera_info_topic  # still pending
            self._warnings.warn(name, "pending", f"{name}: no camera_info on {topic} for {waited_s:.1f} s; its "
                                "poses wait (is the camera driver publishing it?)")
        if len(unposed) == len(self.calibration.names):
            return [], []
        moment = {name: CameraMoment([_detection(person, i) for i, person in enumerate(msg.persons)],
                                     msg.image_width, msg.image_height, msg.downsample_factor)
                  for name, msg in usable.items()}
        calibration = self.calibration.without(unposed) if unposed else self.calibration
        people = self.stream.process_moment(group.stamp_s, moment, calibration)
        return people, [name for name in self.calibration.names if name in usable]

    def _publish_diagnostics(self) -> None:
        fusion = self._fusion_time.summary_ms()
        values = [key_value("groups_hz", self._group_rate.rate()), key_value("groups", self._counts["groups"]),
                  key_value("fusion_ms_mean", fusion["mean"]), key_value("fusion_ms_p95", fusion["p95"]),
                  key_value("late_frames", self._counts["late"]),
                  key_value("unknown_camera_frames", self._counts["unknown_camera"]),
                  key_value("bad_size_frames", self._counts["bad_size"]),
                  key_value("rejected_people", self._counts["rejected_people"]),
                  key_value("time_jumps", self.grouper.restarts),
                  key_value("failed_groups", self._counts["failed"])]
        values += [key_value(f"missing_{name}", n) for name, n in self._missing.items()]
        values += [key_value(f"implausible_stamps_{name}", n) for name, n in self.grouper.implausible.items()]
        drifting = self._clock_health(values)
        ignored = (self._counts["failed"] or self._counts["unknown_camera"] or self._counts["bad_size"]
                   or self._counts["rejected_people"] or any(self.grouper.implausible.values()))
        level = DiagnosticStatus.WARN if ignored or drifting else DiagnosticStatus.OK
        message = "ok" if not level else "; ".join(
            ([f"clock offset beyond stamp_tolerance_s: {', '.join(drifting)}"] if drifting else [])
            + (["frames or people ignored, or groups failed (see log)"] if ignored else []))
        status = DiagnosticStatus(level=level, name=f"{self.get_name()}: fusion", message=message, values=values)
        self._diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                      status=[status]))

    def _clock_health(self, values: list) -> list[str]:
        """Adds each camera's clock offset from the others (median, max |offset| over the last seconds) to
        ``values``; the cameras whose median is beyond stamp_tolerance_s (warned, throttled)."""
        drifting = []
        tolerance = self.config.stamp_tolerance_s
        for name in self.calibration.names:
            offsets = self.grouper.offsets.summary(name, time.monotonic())
            values += [key_value(f"clock_offset_{name}_median_s", f"{offsets.median_s:.3f}"),  # ms resolution
                       key_value(f"clock_offset_{name}_max_s", f"{offsets.max_abs_s:.3f}")]
            if offsets.count >= MIN_OFFSETS_FOR_DRIFT and abs(offsets.median_s) > tolerance:
                drifting.append(name)
                self._warnings.warn(name, "drift", (
                    f"{name}: its stamps are {offsets.median_s:+.3f} s from the other cameras' (median over the "
                    f"last {HEALTH_WINDOW_S:g} s), beyond stamp_tolerance_s {tolerance:g} s: its people are not "
                    "fused with theirs (a drifting clock, or cameras not triggered together?)"))
        return drifting


def overdue_cameras(waiting_since: dict[str, float], waiting: set[str], now_s: float,
                    grace_s: float) -> list[tuple[str, float]]:
    """(camera, seconds waited) of the ``waiting`` cameras (poses at ``now_s`` [s], no camera_info yet) that have
    waited for a camera_info for at least ``grace_s`` [s], in name order. ``waiting_since`` (camera -> when its
    poses first waited [s]) gains the cameras that wait for the first time; drop a camera when its camera_info
    comes."""
    for name in waiting:
        waiting_since.setdefault(name, now_s)
    return [(name, now_s - waiting_since[name]) for name in sorted(waiting) if now_s - waiting_since[name] >= grace_s]


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
