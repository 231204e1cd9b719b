"""orpose_ros: privacy-preserving multi-person 2D/3D human pose estimation for operating rooms.

The flow, one module per stage:

    image in -> privacy (shrink/restore) -> model (ORPose student on detectron2)
             -> poses (plain dataclasses) -> ros (messages, markers, debug image) out

Everything outside ``orpose_ros.ros`` is free of ROS types and is usable on its own, e.g.
``from orpose_ros.model import OrPosePredictor``.
"""

__version__ = "0.1.0"
