"""Calibration file formats, each read into a `RoomCalibration`.

- orpose_ros YAML (``config/cameras.example.yaml`` documents it): ``world_frame``, optional ``floor``,
  ``cameras`` with ``name``, ROS names, ``intrinsics`` (K, distortion, width, height, or the string
  ``from_camera_info``) and ``pose`` (T_world_from_camera as translation [m] + quaternion x, y, z, w).
- MVOR annotation JSON (``camma_mvor_2018*.json``, its ``cameras_info``): millimetres, camera k+1 given
  in camera 1's frame, camera 1 given in a room frame with z up, distortion ordered [k1, k2, k3, p1, p2].

`load_calibration` tells them apart by their content.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from orpose_ros.geometry.calibration import CalibrationError, FloorPlane, PendingCamera, RoomCalibration
from orpose_ros.geometry.camera import CameraModelError, PinholeCamera
from orpose_ros.geometry.transforms import (
    quaternion_norm_problem,
    rigid_from_translation_quaternion,
    rigidity_problem,
)

log = logging.getLogger(__name__)

FROM_CAMERA_INFO = "from_camera_info"
MVOR_WORLD_FRAME = "mvor_room"
_MM_PER_M = 1000.0


def load_calibration(path: str | Path, *, mvor_distortion: bool = False) -> RoomCalibration:
    """Read a calibration file: orpose_ros YAML, or an MVOR annotation JSON (told apart by content).

    ``mvor_distortion`` applies to MVOR files only: use their lens distortion (default: pinhole, which
    reprojects MVOR's 3D annotations onto its 2D annotations better; see docs/fusion.md).
    Raises `CalibrationError` naming the file, the camera and the field.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CalibrationError(f"{path}: calibration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read the calibration: {exc}") from None
    try:
        content = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CalibrationError(f"{path}: not valid JSON/YAML: {reason}") from None
    if isinstance(content, dict) and "cameras_info" in content:
        return calibration_from_mvor(content["cameras_info"], str(path), use_distortion=mvor_distortion)
    if isinstance(content, dict) and "cameras" in content:
        return calibration_from_yaml_dict(content, str(path))
    raise CalibrationError(
        f"{path}: not a calibration: expected an orpose_ros calibration (top-level 'cameras') "
        "or an MVOR annotation file (top-level 'cameras_info')"
    )


# ---- orpose_ros YAML ------------------------------------------------------------------------


def _numbers(value: Any, count: int | None, where: str) -> np.ndarray:
    """A flat float64 array of ``count`` (any if None) finite numbers, or `CalibrationError` naming ``where``."""
    if isinstance(value, str | bytes | Mapping) or value is None:
        raise CalibrationError(f"{where}: expected a list of numbers, got {value!r}")
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise CalibrationError(f"{where}: expected a list of numbers, got {value!r}") from None
    if count is not None and array.size != count:
        raise CalibrationError(f"{where}: expected {count} numbers, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise CalibrationError(f"{where}: has non-finite values")
    return array


def _required(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise CalibrationError(f"{where}: missing field '{key}'")
    return mapping[key]


def _string(mapping: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    value = mapping.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise CalibrationError(f"{where}: {key}: expected a string, got {value!r}")
    return value


def _pixels(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CalibrationError(f"{where}: expected a positive integer number of pixels, got {value!r}")
    return value


def _pose(raw: Any, where: str) -> np.ndarray:
    if not isinstance(raw, Mapping):
        raise CalibrationError(f"{where}: expected a mapping with 'translation' and 'rotation'")
    translation = _numbers(_required(raw, "translation", where), 3, f"{where}.translation")
    quaternion = _numbers(_required(raw, "rotation", where), 4, f"{where}.rotation")
    problem = quaternion_norm_problem(quaternion)
    if problem:
        raise CalibrationError(f"{where}.rotation: quaternion {problem}")
    return rigid_from_translation_quaternion(translation, quaternion)


def _floor(raw: Any, where: str) -> FloorPlane | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise CalibrationError(f"{where}: expected a mapping with 'normal' and 'offset', or null")
    normal = _numbers(raw.get("normal", [0.0, 0.0, 1.0]), 3, f"{where}.normal")
    offset = _numbers([raw.get("offset", 0.0)], 1, f"{where}.offset")[0]
    if np.linalg.norm(normal) < 1e-9:
        raise CalibrationError(f"{where}.normal: must not be zero")
    return FloorPlane(normal, float(offset))


def _yaml_camera(raw: Any, index: int, source: str) -> PinholeCamera | PendingCamera:
    if not isinstance(raw, Mapping):
        raise CalibrationError(f"{source}: cameras[{index}]: expected a mapping")
    name = _string(raw, "name", f"{source}: cameras[{index}]")
    if not name:
        raise CalibrationError(f"{source}: cameras[{index}]: missing field 'name'")
    where = f"{source}: camera {name!r}"
    for key in raw:
        if key not in ("name", "image_topic", "camera_info_topic", "frame_id", "intrinsics", "pose"):
            raise CalibrationError(f"{where}: unknown field '{key}'")
    ros_names = {k: _string(raw, k, where) for k in ("image_topic", "camera_info_topic", "frame_id")}
    T = _pose(_required(raw, "pose", where), f"{where}: pose")
    intrinsics = _required(raw, "intrinsics", where)
    try:
        if intrinsics == FROM_CAMERA_INFO:
            if not ros_names["camera_info_topic"]:
                raise CalibrationError(f"{where}: camera_info_topic: required when intrinsics is {FROM_CAMERA_INFO}")
            return PendingCamera(name, T, **ros_names)
        if not isinstance(intrinsics, Mapping):
            raise CalibrationError(
                f"{where}: intrinsics: expected a mapping (K, distortion, width, height) or '{FROM_CAMERA_INFO}'"
            )
        return PinholeCamera.from_k(
            name,
            _numbers(_required(intrinsics, "K", f"{where}: intrinsics"), 9, f"{where}: intrinsics.K"),
            _pixels(_required(intrinsics, "width", f"{where}: intrinsics"), f"{where}: intrinsics.width"),
            _pixels(_required(intrinsics, "height", f"{where}: intrinsics"), f"{where}: intrinsics.height"),
            _numbers(intrinsics.get("distortion") or [], None, f"{where}: intrinsics.distortion"),
            T,
            **ros_names,
        )
    except CameraModelError as exc:
        raise CalibrationError(f"{source}: {exc}") from None


def calibration_from_yaml_dict(content: Mapping[str, Any], source: str) -> RoomCalibration:
    """A `RoomCalibration` from the parsed orpose_ros YAML format (see config/cameras.example.yaml)."""
    for key in content:
        if key not in ("world_frame", "floor", "cameras"):
            raise CalibrationError(f"{source}: unknown top-level field '{key}'")
    world_frame = _string(content, "world_frame", source)
    if not world_frame:
        raise CalibrationError(f"{source}: missing field 'world_frame'")
    cameras = content["cameras"]
    if not isinstance(cameras, list) or not cameras:
        raise CalibrationError(f"{source}: cameras: expected a non-empty list of cameras")
    floor = _floor(content["floor"], f"{source}: floor") if "floor" in content else FloorPlane.horizontal(0.0)
    return RoomCalibration(world_frame, tuple(_yaml_camera(c, i, source) for i, c in enumerate(cameras)), floor, source)


# ---- MVOR -----------------------------------------------------------------------------------


def _mvor_matrix(value: Any, where: str) -> np.ndarray:
    """(4, 4) rigid transform in metres from MVOR's row-major 16 values in millimetres."""
    T = _numbers(value, 16, where).reshape(4, 4).copy()
    T[:3, 3] /= _MM_PER_M
    problem = rigidity_problem(T)
    if problem:
        raise CalibrationError(f"{where}: {problem}")
    return T


def mvor_distortion_to_opencv(distortion_mvor: np.ndarray) -> np.ndarray:
    """(5,) OpenCV (k1, k2, p1, p2, k3) from MVOR's (5,) (k1, k2, k3, p1, p2)."""
    k1, k2, k3, p1, p2 = distortion_mvor
    return np.array([k1, k2, p1, p2, k3])


def calibration_from_mvor(
    cameras_info: Any, source: str, *, use_distortion: bool = False, floor: FloorPlane | None = None
) -> RoomCalibration:
    """A `RoomCalibration` from MVOR's ``cameras_info`` (cameras named cam1, cam2, ... as MVOR's cam_id).

    World frame: MVOR's room frame (``firstCamToRoomRef``, z up), in metres. MVOR gives no floor:
    pass ``floor`` when known (its room frame's z = 0 is NOT the floor: people's hips are near it).
    """
    where = f"{source}: cameras_info"
    params = cameras_info.get("camParams") if isinstance(cameras_info, Mapping) else None
    if not isinstance(params, Mapping):
        raise CalibrationError(f"{where}: missing field 'camParams'")
    intrinsics = _required(params, "intrinsics", f"{where}.camParams")
    extrinsics = _required(params, "extrinsics", f"{where}.camParams")
    if not isinstance(intrinsics, list) or not isinstance(extrinsics, list) or len(intrinsics) != len(extrinsics):
        raise CalibrationError(f"{where}.camParams: intrinsics and extrinsics must be lists of equal length")
    T_room_from_cam1 = _mvor_matrix(
        _required(params, "firstCamToRoomRef", f"{where}.camParams"), f"{where}.camParams.firstCamToRoomRef"
    )
    cameras = []
    for k, (intr, extr) in enumerate(zip(intrinsics, extrinsics, strict=True)):
        name = f"cam{k + 1}"
        cam_where = f"{where}: camera {name!r}"
        if not isinstance(intr, Mapping):
            raise CalibrationError(f"{cam_where}: intrinsics: expected a mapping")
        T_cam1_from_cam = _mvor_matrix(extr, f"{cam_where}: extrinsics")
        fx, fy = _numbers(_required(intr, "focallength", cam_where), 2, f"{cam_where}: focallength")
        cx, cy = _numbers(_required(intr, "principalpoint", cam_where), 2, f"{cam_where}: principalpoint")
        skew = _numbers([intr.get("skew_value", 0.0)], 1, f"{cam_where}: skew_value")[0]
        width, height = _numbers(_required(intr, "imagesize", cam_where), 2, f"{cam_where}: imagesize").astype(int)
        distortion = _numbers(intr.get("distortion", [0.0] * 5), 5, f"{cam_where}: distortion")
        try:
            cameras.append(
                PinholeCamera.from_k(
                    name,
                    [fx, skew, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
                    int(width),
                    int(height),
                    mvor_distortion_to_opencv(distortion) if use_distortion else (),
                    T_room_from_cam1 @ T_cam1_from_cam,
                    frame_id=f"mvor_{name}_optical",
                )
            )
        except CameraModelError as exc:
            raise CalibrationError(f"{where}: {exc}") from None
    log.debug("MVOR calibration %s: %d cameras, distortion %s", source, len(cameras), use_distortion)
    return RoomCalibration(MVOR_WORLD_FRAME, tuple(cameras), floor, source)
