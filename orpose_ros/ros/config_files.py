"""Files named by node parameters, loaded with errors that name the parameter."""

from __future__ import annotations

from pathlib import Path

from orpose_ros.geometry.calibration import CalibrationError, RoomCalibration
from orpose_ros.geometry.calibration_files import load_calibration
from orpose_ros.ros.parameters import ConfigError


def load_calibration_parameter(path: str, name: str = "calibration") -> RoomCalibration | None:
    """The room calibration of parameter ``name`` ('' = none: None); ConfigError (one line) when unreadable."""
    if not path:
        return None
    try:
        return load_calibration(Path(path).expanduser())
    except (CalibrationError, OSError, ValueError) as error:
        raise ConfigError(f"parameter '{name}': {' '.join(str(error).split())}") from None
