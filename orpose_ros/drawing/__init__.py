"""Pictures of results, free of ROS and torch: each takes an image (or a canvas) and results.

- `skeletons`: detected people on camera frames (boxes, scores, 2D skeletons): the debug image, renders.
- `room`: people in the room from above and reprojected into the cameras (orpose-fuse, the evaluation).
"""

from orpose_ros.drawing.skeletons import BOX_COLOUR, DEFAULT_KEYPOINT_THRESHOLD, draw_poses, line_thickness

__all__ = ["BOX_COLOUR", "DEFAULT_KEYPOINT_THRESHOLD", "draw_poses", "line_thickness"]
