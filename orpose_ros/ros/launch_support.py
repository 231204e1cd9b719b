"""What launch/orpose.launch.py needs beyond wiring, kept here so that it is tested without ROS 2
``launch`` (which CI cannot install): launch arguments -> typed parameters, and node exit checks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from orpose_ros.geometry.calibration import CalibrationError
from orpose_ros.geometry.calibration_files import load_calibration


class LaunchedNodeError(RuntimeError):
    """A launched node exited with an error: raising it from an exit handler makes ``ros2 launch``
    log it, stop the other processes and exit non-zero."""


def parameter_overrides(arguments: Mapping[str, str]) -> dict[str, object]:
    """The launch arguments that were given (non-empty), as typed parameter values.

    Values are read as YAML, as launch_ros reads parameter values (``12`` is an integer, ``12.0``
    a float, ``[a, b]`` a list), so that a wrong type reaches the node, which names the parameter.
    A bare comma list (``/a,/b``) is a list of strings too. A value that YAML does not read as a
    scalar or a list (``a: b``, or no valid YAML at all) stays a string.
    """
    overrides: dict[str, object] = {}
    for name, text in arguments.items():
        text = text.strip()
        if not text:
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        if value is None or not isinstance(value, (bool, int, float, str, list)):
            value = text
        if isinstance(value, str) and "," in value and not value.startswith("["):
            value = [part.strip() for part in value.split(",") if part.strip()]
        overrides[name] = value
    return overrides


def check_exit(process_name: str, returncode: int | None) -> None:
    """Raise `LaunchedNodeError` unless the process ended cleanly (code 0)."""
    if returncode:
        raise LaunchedNodeError(f"{process_name} exited with code {returncode} (its error is logged above)")


def calibration_overrides(path: str, given: Mapping[str, object]) -> dict[str, object]:
    """orpose_node's parameters for a room calibration file: the file itself, and its cameras' image and
    camera_info topics unless ``given`` (the overrides already given) names image topics.

    Raises:
        LaunchedNodeError: the calibration cannot be read (its message names the file and the field).
    """
    try:
        calibration = load_calibration(Path(path).expanduser())
    except (CalibrationError, OSError, ValueError) as error:
        raise LaunchedNodeError(f"calibration:={path}: {' '.join(str(error).split())}") from None
    overrides: dict[str, object] = {"calibration": path}
    if "image_topics" not in given:
        cameras = [c for c in calibration.cameras if c.image_topic]
        if not cameras:
            raise LaunchedNodeError(f"calibration:={path}: no camera has an image_topic; give image_topics:=")
        overrides["image_topics"] = [c.image_topic for c in cameras]
        info = [c.camera_info_topic for c in cameras]
        overrides["camera_info_topics"] = info if any(info) else [""]
    return overrides
