"""Multi-view geometry without ROS or torch: cameras, room calibrations, triangulation, placement.

- `camera`: `PinholeCamera`, a calibrated (or nominal) camera placed in a world frame.
- `transforms`: rigid 4x4 transforms named ``T_<to>_from_<from>``, quaternions (x, y, z, w).
- `calibration`: `RoomCalibration` (cameras in order, floor); `calibration_files`: its file formats.
- `triangulation`: weighted, robust multi-view triangulation of all joints at once.
- `placement`: metric placement of a person from one camera (skeleton fit, floor, both).
- `body_model`: COCO-17 / Human3.6M-17 correspondences and an upright anthropometric template.
"""

from orpose_ros.geometry.calibration import (
    CalibrationError,
    FloorPlane,
    PendingCamera,
    RoomCalibration,
)
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.geometry.camera import CameraModelError, PinholeCamera
from orpose_ros.geometry.placement import Placement, PlacementOptions, estimate_floor, place_people
from orpose_ros.geometry.triangulation import Triangulation, triangulate

__all__ = [
    "CalibrationError",
    "CameraModelError",
    "FloorPlane",
    "PendingCamera",
    "PinholeCamera",
    "Placement",
    "PlacementOptions",
    "RoomCalibration",
    "Triangulation",
    "estimate_floor",
    "load_calibration",
    "place_people",
    "triangulate",
]
