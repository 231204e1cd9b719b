"""TF out of a node: the calibration's cameras once on /tf_static, the people's body frames on /tf.

The QoS are tf2_ros's broadcasters' (/tf_static: reliable, transient local, keep last 1, every static
transform in one message; /tf: reliable, keep last 100), so tf2 listeners and RViz hear them. tf2_msgs comes
with any ROS 2 install but not from PyPI: without it `make_tf_publisher` logs one error and returns None.
"""

from __future__ import annotations

from collections.abc import Sequence

from builtin_interfaces.msg import Time
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from orpose_ros import topics
from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.geometry.calibration import RoomCalibration

TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
TF_STATIC_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)


class TfPublisher:
    """Publishes the cameras of ``calibration`` on /tf_static now (stamp 0: static transforms hold at any
    time; None: none, when the cameras' poses come from TF themselves) and, per `publish_people`, the body
    frames (and with ``joint_frames`` the joint frames) on /tf."""

    def __init__(self, node: Node, calibration: RoomCalibration | None, joint_frames: bool) -> None:
        from orpose_ros.ros import tf_messages  # needs tf2_msgs

        self._messages = tf_messages
        self._joint_frames = joint_frames
        self._tf = node.create_publisher(tf_messages.TFMessage, topics.TF, TF_QOS)
        if calibration is not None:
            self._static = node.create_publisher(tf_messages.TFMessage, topics.TF_STATIC, TF_STATIC_QOS)
            self._static.publish(tf_messages.camera_transforms(calibration, Time()))

    def publish_people(self, header: Header, people: Sequence[FusedPerson]) -> set[str]:
        """The body frames of one moment's ``people``, stamped with ``header`` (world frame, their stamp); the
        child frames published."""
        msg = self._messages.people_transforms(header, people, joints=self._joint_frames)
        if msg.transforms:
            self._tf.publish(msg)
        return {t.child_frame_id for t in msg.transforms}


def make_tf_publisher(node: Node, calibration: RoomCalibration | None, joint_frames: bool) -> TfPublisher | None:
    """A `TfPublisher`, or None (one error logged) when tf2_msgs is not installed."""
    try:
        return TfPublisher(node, calibration, joint_frames)
    except ImportError as error:
        node.get_logger().error(f"publish_tf: TF is not published: {error} (tf2_msgs comes with ROS 2; or set "
                                "publish_tf to false)")
        return None
