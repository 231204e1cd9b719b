"""The ROS 2 layer: the only place where rclpy and message types appear."""
