"""orpose_room_demo: the room demo without weights. Synthetic people walk through a calibrated room
(`orpose_ros.room_scene`) and their poses are published as orpose_node publishes them, one
orpose_msgs/PersonPoseArray per camera on ``orpose/poses``, all cameras of a moment with the same stamp,
so that orpose_fusion_node on the same calibration fuses and tracks them.

Each message's ``source_topic`` and ``frame_id`` are the calibration camera's; persons carry no single-camera
placement (``placement`` none). Cameras whose intrinsics come from a camera_info get nominal ones
(640x480, 60 degrees), published on their camera_info topic just before each moment's poses (as drivers
publish one with every image), so that the fusion node never waits for them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from orpose_msgs.msg import PersonPoseArray
from orpose_ros.camera_people import CameraPerson
from orpose_ros.camera_pipeline import FrameResult, PersonResult
from orpose_ros.geometry.calibration import PendingCamera
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.poses import FramePoses
from orpose_ros.room_scene import DetectorNoise, RoomScene, with_nominal_intrinsics
from orpose_ros.ros.config_files import load_calibration_parameter
from orpose_ros.ros.dds import share_directory
from orpose_ros.ros.entry_point import run_node
from orpose_ros.ros.parameters import ConfigError, ParameterSet, parameter
from orpose_ros.ros.pose_messages import frame_result_to_msg
from orpose_ros.ros.stamps import stamp_ns

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


@dataclass(frozen=True)
class RoomDemoConfig:
    """The validated parameters of orpose_room_demo."""

    calibration: str = parameter("", "Room calibration file (YAML, or MVOR's annotation JSON); '' = the shipped "
                                 "config/cameras.example.yaml.")
    rate_hz: float = parameter(10.0, "Moments published per second (one message per camera each) [Hz].",
                               float_range=(0.1, 60.0))
    people: int = parameter(3, "Number of synthetic people.", int_range=(1, 6))
    keypoint_noise_px: float = parameter(2.0, "Keypoint position noise, standard deviation [px at 640 px width].",
                                         float_range=(0.0, 50.0))
    miss_rate: float = parameter(0.05, "Probability that a camera misses a visible person in a frame.",
                                 float_range=(0.0, 1.0))
    seed: int = parameter(0, "Seed of the detector noise.", int_range=(0, 2**31 - 1))


def camera_info_msg(camera: PinholeCamera, header: Header) -> CameraInfo:
    """The CameraInfo of a pinhole camera (plumb_bob distortion, P = K [I | 0])."""
    K = [float(v) for v in camera.K.ravel()]
    return CameraInfo(header=header, width=camera.width, height=camera.height, distortion_model="plumb_bob",
                      d=[float(v) for v in camera.distortion], k=K, r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                      p=[K[0], K[1], K[2], 0.0, K[3], K[4], K[5], 0.0, K[6], K[7], K[8], 0.0])


def detected(poses: FramePoses, camera: PinholeCamera, header: Header) -> FrameResult:
    """What a pose node would publish of ``poses`` (its people found, not placed: placement and identities in
    the room are the fusion node's)."""
    people = tuple(PersonResult(person, CameraPerson.unplaced()) for person in poses.persons)
    return FrameResult(stamp_ns(header), camera.image_topic, header.frame_id, poses.width, poses.height,
                       poses.downsample_factor, camera.scaled_to(poses.width, poses.height), True, people)


class RoomDemoNode(Node):
    def __init__(self) -> None:
        super().__init__("orpose_room_demo")
        self.parameters = ParameterSet(RoomDemoConfig)
        config = self.parameters.declare(self)
        path = Path(config.calibration).expanduser() if config.calibration else \
            share_directory() / "config" / "cameras.example.yaml"
        calibration = load_calibration_parameter(str(path))
        assert calibration is not None
        pending = [c for c in calibration.cameras if isinstance(c, PendingCamera)]
        calibration = with_nominal_intrinsics(calibration)
        unnamed = [c.name for c in calibration.cameras if not c.image_topic]
        if unnamed:
            raise ConfigError(f"parameter 'calibration': cameras {unnamed} of {path} have no image_topic (the "
                              "fusion node matches poses to cameras by it)")
        try:
            self.scene = RoomScene(calibration, config.people, DetectorNoise(config.keypoint_noise_px,
                                                                             config.miss_rate), config.seed)
        except ValueError as error:
            raise ConfigError(f"parameter 'people': {error}") from None
        self._poses = self.create_publisher(PersonPoseArray, "orpose/poses", RELIABLE)
        self._infos = [(calibration.camera(c.name), self.create_publisher(CameraInfo, c.camera_info_topic, RELIABLE))
                       for c in pending if c.camera_info_topic]
        self.create_timer(1.0 / config.rate_hz, self._publish_moment)
        self.get_logger().info(
            f"ready: {config.people} synthetic people in {path.name} ({calibration.world_frame}), seen by "
            f"{list(calibration.names)}, on {self._poses.topic_name} at {config.rate_hz:g} Hz; no model, no images")

    def _publish_moment(self) -> None:
        stamp = self.get_clock().now().to_msg()
        for camera, publisher in self._infos:
            publisher.publish(camera_info_msg(camera, Header(stamp=stamp, frame_id=camera.frame_id or camera.name)))
        detections = self.scene.detections(stamp_ns(Header(stamp=stamp)) * 1e-9)
        for camera in self.scene.calibration.complete_cameras():
            header = Header(stamp=stamp, frame_id=camera.frame_id or camera.name)
            self._poses.publish(frame_result_to_msg(detected(detections[camera.name], camera, header), header))


def main(args: list[str] | None = None) -> int:
    """Console entry point: 0 after a clean stop, 1 when the demo cannot start."""
    return run_node("orpose_room_demo", RoomDemoNode, (ConfigError,), args)


if __name__ == "__main__":
    sys.exit(main())
