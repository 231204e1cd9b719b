"""orpose_ros: privacy-preserving multi-person 2D/3D human pose estimation for operating rooms.

The flow, one stage per module, all ROS-free except ``orpose_ros.ros``:

    frames -> privacy -> model -> poses -> drawing, geometry, fusion -> ros (topics in and out)

e.g. ``from orpose_ros.model import OrPosePredictor``; README.md ("Layout") lists every module.
"""

__version__ = "0.2.0"
