"""Small real-ROS programs the tests run as separate processes, and helpers to read their output."""
