"""Command-line tools of orpose_ros: ``orpose-infer`` and ``orpose-download-models`` (no ROS needed)."""
