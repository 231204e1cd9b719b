"""Publish sample_frame_result() as orpose_msgs/PersonPoseArray at 10 Hz for --duration seconds."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import rclpy
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from orpose_msgs.msg import PersonPoseArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_poses import FRAME_ID, STAMP, sample_frame_result

from orpose_ros.ros.pose_messages import frame_result_to_msg


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("publish_sample_poses")
    pub = node.create_publisher(PersonPoseArray, args.topic, 10)
    header = Header(stamp=Time(sec=STAMP[0], nanosec=STAMP[1]), frame_id=FRAME_ID)
    msg = frame_result_to_msg(sample_frame_result(), header)
    end = time.monotonic() + args.duration
    try:
        while time.monotonic() < end:
            pub.publish(msg)
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
