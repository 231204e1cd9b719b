"""Multi-view geometry without ROS or torch: cameras, room calibrations, triangulation, placement.

- `camera`: `PinholeCamera`, a calibrated (or nominal) camera placed in a world frame.
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

__all__ = [
    "CalibrationError",
    "CameraModelError",
    "FloorPlane",
    "PendingCamera",
    "PinholeCamera",
    "RoomCalibration",
    "load_calibration",
]
