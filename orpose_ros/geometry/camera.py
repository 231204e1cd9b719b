"""A calibrated pinhole camera (OpenCV distortion model) placed in a world frame.

Frames: the camera frame is the optical frame of ROS (x right, y down, z forward, metres); the world
frame is whatever the calibration names (e.g. an operating room with z up). Pixel coordinates follow
OpenCV and ROS CameraInfo: the centre of the top-left pixel is (0, 0), u to the right, v down.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from orpose_ros.geometry import vectors
from orpose_ros.geometry.transforms import invert_rigid, rigidity_problem, transform_points

#: Lengths of an OpenCV distortion vector (k1, k2, p1, p2[, k3[, k4, k5, k6[, s1..s4[, tx, ty]]]]).
DISTORTION_LENGTHS = (0, 4, 5, 8, 12, 14)
#: Largest relative departure of K[2] from (0, 0, 1) accepted.
_K_LAST_ROW_TOLERANCE = 1e-9
# Iterative undistortion: OpenCV's default 5 iterations are not enough for strong radial terms.
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12)


class CameraModelError(ValueError):
    """An invalid camera model; the message names the camera and the field."""


def _frozen_array(value: object, dtype: type = np.float64) -> np.ndarray:
    array = np.array(value, dtype=dtype)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class PinholeCamera:
    """A pinhole camera with optional OpenCV lens distortion and its pose in the world frame.

    Attributes:
        name: camera name, used in messages and to match detections to cameras.
        width, height: image size [px] that ``K`` refers to.
        K: (3, 3) camera matrix [px] (fx, skew, cx; 0, fy, cy; 0, 0, 1).
        distortion: (0,) or (4, 5, 8, 12, 14,) OpenCV coefficients k1, k2, p1, p2[, k3, ...]; empty or all
            zero means none.
        T_world_from_camera: (4, 4) rigid pose of the camera optical frame in the world frame [m].
        image_topic, camera_info_topic, frame_id: ROS names the calibration carries ("" = not given).
        T_camera_from_world, projection_matrix (3, 4) K [R | t] [px], has_distortion: derived on creation.
    """

    name: str
    width: int
    height: int
    K: np.ndarray
    distortion: np.ndarray = field(default_factory=lambda: np.zeros(0))
    T_world_from_camera: np.ndarray = field(default_factory=lambda: np.eye(4))
    image_topic: str = ""
    camera_info_topic: str = ""
    frame_id: str = ""
    T_camera_from_world: np.ndarray = field(init=False, repr=False)
    projection_matrix: np.ndarray = field(init=False, repr=False)
    has_distortion: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        def fail(field_name: str, why: str) -> None:
            raise CameraModelError(f"camera {self.name!r}: {field_name} {why}")

        for field_name in ("width", "height"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                fail(field_name, f"must be a positive integer number of pixels, got {value!r}")
            object.__setattr__(self, field_name, int(value))
        try:
            K = _frozen_array(self.K)
            distortion = _frozen_array(self.distortion).reshape(-1)
            T = _frozen_array(self.T_world_from_camera)
        except (TypeError, ValueError) as exc:
            raise CameraModelError(f"camera {self.name!r}: K, distortion and pose must be numbers ({exc})") from None
        if K.shape != (3, 3):
            fail("K", f"must be 3x3, got shape {K.shape}")
        if not np.all(np.isfinite(K)):
            fail("K", "has non-finite values")
        if not (K[0, 0] > 0 and K[1, 1] > 0):
            fail("K", f"is singular or uncalibrated: focal lengths fx={K[0, 0]}, fy={K[1, 1]} must be positive")
        if np.abs(K[2] - (0.0, 0.0, 1.0)).max() > _K_LAST_ROW_TOLERANCE or K[1, 0] != 0:
            fail("K", f"must have the form [fx, s, cx; 0, fy, cy; 0, 0, 1], got rows {K[1:].tolist()}")
        if distortion.size not in DISTORTION_LENGTHS:
            fail("distortion", f"must hold one of {DISTORTION_LENGTHS} coefficients, got {distortion.size}")
        if not np.all(np.isfinite(distortion)):
            fail("distortion", "has non-finite values")
        problem = rigidity_problem(T)
        if problem:
            fail("T_world_from_camera", problem)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "distortion", distortion)
        object.__setattr__(self, "T_world_from_camera", T)
        object.__setattr__(self, "T_camera_from_world", _frozen_array(invert_rigid(T)))
        object.__setattr__(self, "projection_matrix", _frozen_array(K @ self.T_camera_from_world[:3]))
        object.__setattr__(self, "has_distortion", bool(np.any(distortion != 0.0)))

    # ---- constructors -----------------------------------------------------------------------

    @classmethod
    def from_k(
        cls,
        name: str,
        K: np.ndarray | list[float],
        width: int,
        height: int,
        distortion: np.ndarray | list[float] = (),
        T_world_from_camera: np.ndarray | None = None,
        **ros_names: str,
    ) -> PinholeCamera:
        """From a 3x3 or row-major 9-value K [px] (as in sensor_msgs/CameraInfo), validated.

        ``ros_names`` are the optional ``image_topic``, ``camera_info_topic`` and ``frame_id``.
        """
        try:
            k = np.asarray(K, dtype=np.float64)
        except (TypeError, ValueError):
            raise CameraModelError(f"camera {name!r}: K must be 9 numbers (row-major 3x3)") from None
        if k.size != 9:
            raise CameraModelError(f"camera {name!r}: K must be 9 numbers (row-major 3x3), got {k.size}")
        pose = np.eye(4) if T_world_from_camera is None else T_world_from_camera
        return cls(name, width, height, k.reshape(3, 3), np.asarray(distortion, dtype=np.float64), pose, **ros_names)

    @classmethod
    def nominal(
        cls,
        name: str,
        width: int,
        height: int,
        horizontal_fov_deg: float,
        T_world_from_camera: np.ndarray | None = None,
        **ros_names: str,
    ) -> PinholeCamera:
        """An uncalibrated camera: square pixels, principal point at the image centre, no distortion.

        ``horizontal_fov_deg`` is the angle between the left and right image borders, in (0, 180).
        """
        if not (math.isfinite(horizontal_fov_deg) and 0.0 < horizontal_fov_deg < 180.0):
            raise CameraModelError(
                f"camera {name!r}: horizontal field of view must be in (0, 180) degrees, got {horizontal_fov_deg}"
            )
        f = (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)
        K = [[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]]
        return cls.from_k(name, K, width, height, (), T_world_from_camera, **ros_names)

    # ---- derived cameras --------------------------------------------------------------------

    def scaled_to(self, width: int, height: int) -> PinholeCamera:
        """The same camera imaging at ``width`` x ``height`` px (a resize of the whole image).

        Pixel centres map as in ``cv2.resize``: u' = (u + 0.5) * width / self.width - 0.5.
        Distortion (in normalised coordinates) and pose are unchanged.
        """
        if width == self.width and height == self.height:
            return self
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0] *= sx
        K[1] *= sy
        K[0, 2] += 0.5 * sx - 0.5
        K[1, 2] += 0.5 * sy - 0.5
        return replace(self, width=width, height=height, K=K)

    def with_pose(self, T_world_from_camera: np.ndarray) -> PinholeCamera:
        """The same camera at another (4, 4) pose in the world frame."""
        return replace(self, T_world_from_camera=T_world_from_camera)

    # ---- properties -------------------------------------------------------------------------

    @property
    def centre_world(self) -> np.ndarray:
        """(3,) optical centre in the world frame [m]."""
        return self.T_world_from_camera[:3, 3]

    @property
    def focal_px(self) -> float:
        """Geometric mean sqrt(fx * fy) of the focal lengths [px]: a pixel's size at 1 m is 1 / focal_px [m]."""
        return float(np.sqrt(self.K[0, 0] * self.K[1, 1]))

    @property
    def optical_axis_world(self) -> np.ndarray:
        """(3,) unit viewing direction (camera z axis) in the world frame."""
        return self.T_world_from_camera[:3, 2]

    # ---- maths ------------------------------------------------------------------------------

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) points in the camera frame [m] from (..., 3) points in the world frame [m]."""
        return transform_points(self.T_camera_from_world, points_world)

    def to_world(self, points_camera: np.ndarray) -> np.ndarray:
        """(..., 3) points in the world frame [m] from (..., 3) points in the camera frame [m]."""
        return transform_points(self.T_world_from_camera, points_camera)

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 2) pixels [px] of (..., 3) world points [m]; NaN for points not in front of the camera."""
        return self.project_camera(self.to_camera(points_world))

    def project_camera(self, points_camera: np.ndarray) -> np.ndarray:
        """(..., 2) pixels [px] of (..., 3) camera-frame points [m], with distortion when the camera has it.

        Points at or behind the optical centre (z <= 0) and NaN points give NaN.
        """
        p = np.asarray(points_camera, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = p[..., 2:3]
            xy = np.where(z > 0, p[..., :2] / z, np.nan)
        if not self.has_distortion:
            return xy @ self.K[:2, :2].T + self.K[:2, 2]
        flat = xy.reshape(-1, 2)
        ok = np.all(np.isfinite(flat), axis=1)
        uv = np.full_like(flat, np.nan)
        if ok.any():
            rays = np.concatenate([flat[ok], np.ones((int(ok.sum()), 1))], axis=1)
            projected, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), self.K, self.distortion)
            uv[ok] = projected.reshape(-1, 2)
        return uv.reshape(xy.shape)

    def normalised_coordinates(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) undistorted normalised image coordinates (x/z, y/z) of (..., 2) pixels [px]."""
        uv = np.asarray(uv, dtype=np.float64)
        if self.has_distortion:
            flat = uv.reshape(-1, 2)
            ok = np.all(np.isfinite(flat), axis=1)
            xy = np.full_like(flat, np.nan)
            if ok.any():
                src = np.ascontiguousarray(flat[ok]).reshape(-1, 1, 2)
                xy[ok] = cv2.undistortPointsIter(src, self.K, self.distortion, None, None, _UNDISTORT_CRITERIA)[:, 0]
            return xy.reshape(uv.shape)
        fx, s, cx = self.K[0]
        fy, cy = self.K[1, 1], self.K[1, 2]
        y = (uv[..., 1] - cy) / fy
        x = (uv[..., 0] - cx - s * y) / fx
        return np.stack([x, y], axis=-1)

    def undistort_pixels(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) pixels [px] an ideal pinhole camera with the same K would see; a copy if no distortion."""
        uv = np.asarray(uv, dtype=np.float64)
        if not self.has_distortion:
            return uv.copy()
        return self.normalised_coordinates(uv) @ self.K[:2, :2].T + self.K[:2, 2]

    def back_project(self, uv: np.ndarray, depth_m: np.ndarray | float) -> np.ndarray:
        """(..., 3) camera-frame points [m] at depth z = ``depth_m`` (broadcast to ...) on the rays of (..., 2) px."""
        xy = self.normalised_coordinates(uv)
        depth = np.asarray(depth_m, dtype=np.float64)[..., None]
        return np.concatenate([xy * depth, np.broadcast_to(depth, (*xy.shape[:-1], 1))], axis=-1)

    def rays_world(self, uv: np.ndarray) -> np.ndarray:
        """(..., 3) unit directions in the world frame of the rays through (..., 2) px; they start at `centre_world`."""
        xy = self.normalised_coordinates(uv)
        d = np.concatenate([xy, np.ones((*xy.shape[:-1], 1))], axis=-1)
        d /= vectors.norm(d)[..., None]
        return d @ self.T_world_from_camera[:3, :3].T


@dataclass(frozen=True, eq=False)
class StackedCameras:
    """The constants of V cameras as stacked, read-only arrays (`stacked_cameras`).

    Attributes:
        projection: (V, 3, 4) projection matrices K [R | t] (world -> undistorted px).
        K: (V, 3, 3) camera matrices [px].
        T_world_from_camera: (V, 4, 4) poses of the optical frames in the world frame [m].
        centres_world: (V, 3) optical centres in the world frame [m].
        focal_px: (V,) geometric means sqrt(fx * fy) of the focal lengths [px].
    """

    projection: np.ndarray
    K: np.ndarray
    T_world_from_camera: np.ndarray
    centres_world: np.ndarray
    focal_px: np.ndarray


@functools.lru_cache(maxsize=32)
def stacked_cameras(cameras: tuple[PinholeCamera, ...]) -> StackedCameras:
    """The `StackedCameras` of ``cameras``, built once per tuple of camera objects (the fusion asks for them
    every frame)."""
    K = np.array([c.K for c in cameras], dtype=np.float64).reshape(-1, 3, 3)
    T = np.array([c.T_world_from_camera for c in cameras], dtype=np.float64).reshape(-1, 4, 4)
    arrays = StackedCameras(np.array([c.projection_matrix for c in cameras], dtype=np.float64).reshape(-1, 3, 4),
                          K, T, T[:, :3, 3].copy(), np.array([c.focal_px for c in cameras], dtype=np.float64))
    for array in vars(arrays).values():
        array.setflags(write=False)
    return arrays
