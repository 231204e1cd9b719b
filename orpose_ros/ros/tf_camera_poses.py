"""Camera poses from static TF in a node: listens to /tf_static (and /tf, to refuse moving cameras).

/tf_static is heard as tf2_ros's static listener hears it (reliable, transient local: the transforms
published before the node started arrive too); every TFMessage adds to one `FrameTree`
(`geometry.tf_cameras.TfCameraPoses`). Each camera's change is logged once: waiting (info), its pose
(info), refused because a link of its chain is on /tf (error). The node is told each new pose through
``on_pose(frame, T_world_from_camera)`` and asks `unposed` which cameras' poses to ignore.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from orpose_ros.geometry.tf_cameras import PoseState, TfCameraPoses
from orpose_ros.ros.parameters import ConfigError
from orpose_ros.ros.tf_publishing import TF_QOS

#: tf2_ros's static listener: every publisher's latest message, also those sent before we started.
TF_STATIC_LISTENER_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                                    history=HistoryPolicy.KEEP_LAST, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class TfCameraListener:
    """The poses of the cameras ``camera_frames`` in ``world_frame`` from /tf_static, for ``node``."""

    def __init__(self, node: Node, world_frame: str, camera_frames: Sequence[str],
                 on_pose: Callable[[str, np.ndarray], None]) -> None:
        try:
            from orpose_ros.ros import tf_messages  # needs tf2_msgs
        except ImportError as error:
            raise ConfigError(f"parameter 'camera_poses_from_tf': needs tf2_msgs ({error}; it comes with ROS 2); "
                              "expected false, with a calibration file") from None
        self._messages = tf_messages
        self._logger = node.get_logger()
        self._on_pose = on_pose
        self.poses = TfCameraPoses(world_frame, list(camera_frames))
        self._bad: set[str] = set()
        node.create_subscription(tf_messages.TFMessage, "/tf_static", self._on_static, TF_STATIC_LISTENER_QOS)
        node.create_subscription(tf_messages.TFMessage, "/tf", self._on_dynamic, TF_QOS)
        self._logger.info(f"camera poses from /tf_static: waiting for the chains {world_frame} -> "
                          f"{list(camera_frames)}")

    @property
    def unposed(self) -> tuple[str, ...]:
        """The cameras whose poses are ignored: still waiting for their chain, or refused."""
        return self.poses.unposed

    def _on_static(self, msg: object) -> None:
        transforms, problems = self._messages.transforms_of(msg)
        changes, tree_problems = self.poses.add_static(transforms)
        for problem in problems + tree_problems:
            if problem not in self._bad:  # each bad transform said once
                self._bad.add(problem)
                self._logger.warning(problem if problem.startswith("/tf_static") else f"/tf_static: {problem}")
        self._report(changes)

    def _on_dynamic(self, msg: object) -> None:
        self._report(self.poses.add_dynamic(t.child_frame_id for t in msg.transforms))

    def _report(self, changes: list) -> None:
        for change in changes:
            if change.state == PoseState.REFUSED:
                self._logger.error(change.detail)
                continue
            self._logger.info(change.detail)
            if change.T_world_from_camera is not None:
                self._on_pose(change.frame, change.T_world_from_camera)
