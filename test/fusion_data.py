"""Helpers for the geometry and fusion tests: MVOR data read in place, and synthetic rooms and people.

MVOR (CC BY-NC-SA 4.0) is read from ``$ORPOSE_SHARED_DIR/mvor_day1`` (default ../shared), never copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SHARED
from scipy.spatial.transform import Rotation

from orpose_ros.geometry.body_model import standing_template_coco
from orpose_ros.geometry.calibration import FloorPlane, RoomCalibration
from orpose_ros.geometry.camera import PinholeCamera

MVOR_DIR = SHARED / "mvor_day1"


def mvor_file(name: str) -> Path:
    """A file of the MVOR day-1 subset; fails the test with a clear message when missing."""
    path = MVOR_DIR / name
    if not path.exists():
        pytest.fail(f"MVOR data missing: {path} (tests read ../shared in place; set ORPOSE_SHARED_DIR)")
    return path


def look_at(centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4, 4) T_world_from_camera of a camera at ``centre`` [m] looking at ``target`` (world z up, no roll)."""
    z = np.asarray(target, float) - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    T[:3, 3] = centre
    return T


def ceiling_room(num_cameras: int = 3, width: int = 640, height: int = 480) -> RoomCalibration:
    """Cameras on a circle 3 m around the room centre at 2.6 m, looking at (0, 0, 1); floor z = 0."""
    cameras = []
    for k in range(num_cameras):
        angle = 2.0 * np.pi * k / num_cameras + 0.3
        centre = np.array([3.0 * np.cos(angle), 3.0 * np.sin(angle), 2.6])
        f = 0.85 * width
        K = [[f, 0.0, (width - 1) / 2], [0.0, f * 1.001, (height - 1) / 2], [0.0, 0.0, 1.0]]
        cameras.append(
            PinholeCamera(f"cam{k + 1}", width, height, np.array(K), T_world_from_camera=look_at(centre, [0, 0, 1.0]))
        )
    return RoomCalibration("room", tuple(cameras), FloorPlane.horizontal(0.0))


def standing_person(position_xy: tuple[float, float], heading_rad: float = 0.0, stature_m: float = 1.72) -> np.ndarray:
    """(17, 3) COCO-17 joints [m, world z up] of the upright template standing at ``position_xy`` on z = 0."""
    joints = standing_template_coco(stature_m)
    # body frame (x right, y forward, z up) turned by the heading about z
    rotation = Rotation.from_euler("z", heading_rad).as_matrix()
    joints = joints @ rotation.T
    return joints + np.array([position_xy[0], position_xy[1], 0.53 * stature_m])


def keypoints_of(camera: PinholeCamera, joints_world: np.ndarray, score: float = 0.9) -> np.ndarray:
    """(..., 17, 3) keypoints x, y [px], score of world joints seen by ``camera``."""
    uv = camera.project(joints_world)
    return np.concatenate([uv, np.full((*uv.shape[:-1], 1), score)], axis=-1)


def write_calibration_yaml(calibration: RoomCalibration, path: Path, pending: tuple[str, ...] = ()) -> Path:
    """``calibration`` in the documented YAML format (config/cameras.example.yaml); the cameras named in
    ``pending`` get ``intrinsics: from_camera_info`` and a camera_info topic. Image topics: /NAME/image_raw."""
    cameras = []
    for camera in calibration.cameras:
        T = camera.T_world_from_camera
        entry = {
            "name": camera.name, "image_topic": f"/{camera.name}/image_raw", "frame_id": f"{camera.name}_optical",
            "pose": {"translation": T[:3, 3].tolist(), "rotation": Rotation.from_matrix(T[:3, :3]).as_quat().tolist()},
        }
        if camera.name in pending:
            entry["intrinsics"] = "from_camera_info"
            entry["camera_info_topic"] = f"/{camera.name}/camera_info"
        else:
            entry["intrinsics"] = {"K": camera.K.ravel().tolist(), "distortion": camera.distortion.tolist(),
                                   "width": camera.width, "height": camera.height}
        cameras.append(entry)
    floor = calibration.floor
    content = {"world_frame": calibration.world_frame, "cameras": cameras,
               "floor": None if floor is None else {"normal": floor.normal_world.tolist(), "offset": floor.offset_m}}
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path
