"""Entry point of the ROS 2 node: ``ros2 run orpose_ros orpose_node`` or ``python -m orpose_ros.node``."""

import sys

from orpose_ros.ros.node import main

if __name__ == "__main__":
    sys.exit(main())
