"""Metric placement of people seen by ONE calibrated camera.

A detector gives each person's COCO-17 keypoints [px] and, for ORPose, a pelvis-relative Human3.6M-17
skeleton [m] in camera axes (2D-only detectors such as OpenPose give none: an upright anthropometric
template stands in, `body_model.standing_template_h36m`, turned to the heading that fits best).
Three methods find the translation of the skeleton in the camera frame:

- ``skeleton``: the translation (and scale, about 1 +- 5 %) whose projection of the skeleton best matches
  the keypoints (score-weighted linear least squares, then Gauss-Newton steps on the reprojection error
  with a Huber loss). Depth comes from the apparent size of the skeleton.
- ``floor``: people stand on a known floor: the ray through each confident torso, head or leg keypoint
  meets the horizontal plane at that keypoint's standing height; the person's vertical axis is the
  weighted mean of those points. Depth comes from where the person touches the floor.
- ``skeleton+floor`` (default): the skeleton fit with one more residual, the pelvis height above the floor
  (a Gaussian prior: the scaled skeleton's standing pelvis height), so both cues weigh in as their noise
  says; the unknown scale lets the floor correct a person taller or shorter than the skeleton.

Without a floor, ``skeleton+floor`` and ``floor`` fall back to ``skeleton``.

The skeleton fit of every person (the linear fit of each heading, Gauss-Newton on the best) is a handful of 4x4
systems per person, too small for array operations to pay their per-call cost: it runs as compiled loops
(`orpose_ros.compiled`, `_fit_people`), one call per frame.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from orpose_ros.compiled import compiled
from orpose_ros.geometry import vectors
from orpose_ros.geometry.body_model import (
    COCO_RIGID_WHEN_STANDING,
    COCO_SHARED_WITH_H36M,
    DEFAULT_STATURE_M,
    body_to_camera_rotations,
    coco_from_h36m,
    pelvis_height_m,
    standing_heights_coco,
    standing_template_coco,
    standing_template_h36m,
)
from orpose_ros.geometry.calibration import FloorPlane
from orpose_ros.geometry.camera import PinholeCamera
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES


class PlacementMethod(StrEnum):
    """How a person is placed from one camera: the skeleton fitted to the keypoints, the floor of a
    calibrated room, or both (the values are the parameters' and the JSON's words)."""

    SKELETON = "skeleton"
    FLOOR = "floor"
    SKELETON_FLOOR = "skeleton+floor"


PLACEMENT_METHODS = tuple(m.value for m in PlacementMethod)
_NOSE = COCO_KEYPOINT_NAMES.index("nose")
#: Keypoints a skeleton is fitted to: those the H36M skeleton has, and the nose (H36M neck/nose).
_FIT_JOINTS = COCO_SHARED_WITH_H36M.copy()
_FIT_JOINTS[_NOSE] = True
_MIN_DEPTH_M = 0.1


@dataclass(frozen=True)
class PlacementOptions:
    """How single-camera people are placed.

    Attributes:
        method: a `PlacementMethod` (or its value).
        min_joint_score: keypoints scoring below are ignored.
        min_joints: fewest confident keypoints to place a person.
        stature_m: stature of the template and of the standing heights [m].
        lateral_noise_m: standard deviation of a keypoint's position across its ray [m]: detection noise plus
            the difference between the skeleton and the person (the size of a joint, about 5 cm).
        size_noise: relative standard deviation of a person's size about the skeleton's (stature SD about 9 cm
            over 1.72 m): the skeleton is scaled by an unknown factor with this prior.
        height_noise_m: standard deviation of a standing person's pelvis height about the (scaled) skeleton's
            standing height [m]: posture (knees, leaning, shoes), about 5 cm.
        headings: number of headings tried for the template (evenly spaced over 360 degrees).
        iterations: Gauss-Newton steps after the linear solution.
        huber_m: residuals larger than this [m, across the ray] are down-weighted (Huber loss).
        template_coco: (17, 3) COCO-17 template [m], pelvis-relative, body frame (x right, y forward, z up);
            None: the anthropometric `body_model.standing_template_coco` at ``stature_m``.
    """

    method: PlacementMethod = PlacementMethod.SKELETON_FLOOR
    min_joint_score: float = 0.2
    min_joints: int = 4
    stature_m: float = DEFAULT_STATURE_M
    lateral_noise_m: float = 0.05
    size_noise: float = 0.05
    height_noise_m: float = 0.05
    headings: int = 12
    iterations: int = 2
    huber_m: float = 0.1
    template_coco: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in PLACEMENT_METHODS:
            raise ValueError(f"placement method must be one of {PLACEMENT_METHODS}, got {self.method!r}")
        object.__setattr__(self, "method", PlacementMethod(self.method))
        if not 0.0 <= self.min_joint_score <= 1.0:
            raise ValueError(f"min_joint_score must be in [0, 1], got {self.min_joint_score}")
        if self.min_joints < 2:
            raise ValueError(f"min_joints must be >= 2 (a translation needs two keypoints), got {self.min_joints}")
        for name in ("stature_m", "lateral_noise_m", "size_noise", "height_noise_m", "huber_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.headings < 1 or self.iterations < 0:
            raise ValueError("headings must be >= 1 and iterations >= 0")
        if self.template_coco is not None:
            template = np.array(self.template_coco, dtype=np.float64)
            if template.shape != (17, 3) or not np.all(np.isfinite(template)):
                raise ValueError(f"template_coco must be (17, 3) finite values, got shape {template.shape}")
            template.setflags(write=False)
            object.__setattr__(self, "template_coco", template)


@dataclass(frozen=True, eq=False)
class Placement:
    """People placed from one camera, all in the camera frame (x right, y down, z forward) [m].

    Attributes:
        pelvis: (N, 3) pelvis positions; NaN where not placed.
        joints_coco: (N, 17, 3) COCO-17 joints: confident keypoints back-projected to the depth of their
            skeleton joint; other keypoints from the skeleton when a measured one was given, else NaN.
        joints_h36m: (N, 17, 3) the fitted Human3.6M-17 skeleton (the template's when none was given;
            NaN for the floor method without a skeleton).
        success: (N,) bool, False when too few confident keypoints, behind the camera or degenerate.
        residual_px: (N,) RMS reprojection error of the fitted skeleton over the keypoints used [px]; NaN where
            not placed or without a skeleton (floor method and template).
        joint_residual_px: (N, 17) the same per keypoint; NaN where not used.
        num_joints: (N,) int, confident keypoints used.
        method: (N,) str, the method that placed each person (``skeleton`` when a floor method fell back).
    """

    pelvis: np.ndarray
    joints_coco: np.ndarray
    joints_h36m: np.ndarray
    success: np.ndarray
    residual_px: np.ndarray
    joint_residual_px: np.ndarray
    num_joints: np.ndarray
    method: np.ndarray


def floor_in_camera(camera: PinholeCamera, floor: FloorPlane) -> tuple[np.ndarray, float]:
    """(3,) up normal and offset [m] of the floor in the camera frame: height(p_cam) = n @ p_cam - offset."""
    R, C = camera.T_world_from_camera[:3, :3], camera.T_world_from_camera[:3, 3]
    normal = R.T @ floor.normal_world
    return normal, float(floor.offset_m - floor.normal_world @ C)


def _priors(
    N: int, up: np.ndarray, floor_offset: np.ndarray | None, options: PlacementOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Prior rows on theta = (t_x, t_y, t_z, scale), divided by their sigmas, per person: (N, R, 4) and (N, R).

    scale = 1 +- size_noise; with a floor, pelvis height n . t - offset = scale * standing pelvis height
    +- height_noise (``up`` (N, 3) and ``floor_offset`` (N,): each person's camera's).
    """
    rows = [np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]) / options.size_noise, (N, 4))]
    rhs = [np.full(N, 1.0 / options.size_noise)]
    if floor_offset is not None:
        rows.append(np.concatenate([up, np.full((N, 1), -pelvis_height_m(options.stature_m))], axis=1)
                    / options.height_noise_m)
        rhs.append(floor_offset / options.height_noise_m)
    return np.stack(rows, axis=1), np.stack(rhs, axis=-1)


def _solve4(M: np.ndarray, v: np.ndarray, x: np.ndarray) -> None:
    """Writes the solution of M x = v, for (4, 4) M and (4,) v, into x (4,), by Gaussian elimination with partial
    pivoting (M and v are overwritten); a singular M gives inf or NaN (never an exception)."""
    for col in range(4):
        pivot = col
        for row in range(col + 1, 4):
            if abs(M[row, col]) > abs(M[pivot, col]):
                pivot = row
        if pivot != col:
            for k in range(4):
                M[col, k], M[pivot, k] = M[pivot, k], M[col, k]
            v[col], v[pivot] = v[pivot], v[col]
        for row in range(col + 1, 4):
            factor = M[row, col] / M[col, col]
            for k in range(col, 4):
                M[row, k] -= factor * M[col, k]
            v[row] -= factor * v[col]
    for row in range(3, -1, -1):
        total = v[row]
        for k in range(row + 1, 4):
            total -= M[row, k] * x[k]
        x[row] = total / M[row, row]


def _add_row(row: np.ndarray, weight: float, rhs: float, M: np.ndarray, v: np.ndarray) -> None:
    """Adds one row (4,) of a least-squares system, with its weight and right-hand side, to the normal equations:
    M (4, 4) += weight row row^T, v (4,) += weight row rhs."""
    for a in range(4):
        v[a] += weight * row[a] * rhs
        for b in range(4):
            M[a, b] += weight * row[a] * row[b]


def _prior_residual(prior_rows: np.ndarray, prior_rhs: np.ndarray, r: int, theta: np.ndarray) -> float:
    """Residual of prior row r at theta (4,): prior_rows[r] . theta - prior_rhs[r] (divided by its sigma)."""
    total = -prior_rhs[r]
    for k in range(4):
        total += prior_rows[r, k] * theta[k]
    return total


def _linear_fit(xy: np.ndarray, skel: np.ndarray, w: np.ndarray, prior_rows: np.ndarray, prior_rhs: np.ndarray,
                M: np.ndarray, v: np.ndarray, row: np.ndarray, theta: np.ndarray) -> float:
    """Weighted linear least squares for theta = (t, scale) of one skeleton: x (scale S_z + t_z) = scale S_x + t_x
    per keypoint (in metres across the ray at the keypoint's depth), plus the prior rows.

    Args: xy (17, 2) normalised coordinates; skel (17, 3) [m]; w (17,) row weights [1/m] (rows of weight 0 are
    left out); prior_rows (R, 4) and prior_rhs (R,), already divided by their sigmas; M (4, 4), v (4,) and
    row (4,) scratch.
    Writes theta (4,); returns the weighted residual cost (sum of squared rows).
    """
    M[:] = 0.0
    v[:] = 0.0
    for r in range(prior_rows.shape[0]):
        _add_row(prior_rows[r], 1.0, prior_rhs[r], M, v)
    for j in range(xy.shape[0]):
        if w[j] == 0.0:
            continue
        for axis in range(2):  # rows (1, 0, -x, S_x - x S_z) and (0, 1, -y, S_y - y S_z), right-hand side 0
            row[0], row[1] = 1.0 - axis, float(axis)
            row[2] = -xy[j, axis]
            row[3] = skel[j, axis] - xy[j, axis] * skel[j, 2]
            _add_row(row, w[j] * w[j], 0.0, M, v)
    for a in range(4):
        M[a, a] += 1e-12
    _solve4(M, v, theta)
    cost = 0.0
    for j in range(xy.shape[0]):
        for axis in range(2):
            fitted = (theta[axis] - xy[j, axis] * theta[2] + (skel[j, axis] - xy[j, axis] * skel[j, 2]) * theta[3])
            cost += (w[j] * fitted) ** 2
    for r in range(prior_rows.shape[0]):
        cost += _prior_residual(prior_rows, prior_rhs, r, theta) ** 2
    return cost


def _gauss_newton(xy: np.ndarray, skel: np.ndarray, w: np.ndarray, prior_rows: np.ndarray, prior_rhs: np.ndarray,
                  iterations: int, huber_m: float, M: np.ndarray, v: np.ndarray, row: np.ndarray, step: np.ndarray,
                  theta: np.ndarray) -> None:
    """Gauss-Newton steps, in place on theta = (t, scale) (4,) of one skeleton, on the reprojection error
    (normalised coordinates times the person's depth: metres across the ray) with a Huber loss beyond ``huber_m``
    [m], plus the linear prior rows.

    Args: xy (17, 2), skel (17, 3) [m], w (17,) [1/m], prior_rows (R, 4) and prior_rhs (R,); M, v, row, step scratch.
    """
    for _ in range(iterations):
        M[:] = 0.0
        v[:] = 0.0
        for r in range(prior_rows.shape[0]):
            _add_row(prior_rows[r], 1.0, _prior_residual(prior_rows, prior_rhs, r, theta), M, v)
        depth = max(theta[2], _MIN_DEPTH_M)  # metres per unit of normalised coordinates
        for j in range(xy.shape[0]):
            if w[j] == 0.0:
                continue
            z = max(theta[3] * skel[j, 2] + theta[2], _MIN_DEPTH_M)
            f = depth / z
            proj_x = (theta[3] * skel[j, 0] + theta[0]) / z
            proj_y = (theta[3] * skel[j, 1] + theta[1]) / z
            residual_x, residual_y = (proj_x - xy[j, 0]) * depth, (proj_y - xy[j, 1]) * depth  # [m]
            size = np.sqrt(residual_x * residual_x + residual_y * residual_y)
            huber = huber_m / max(size, 1e-12) if size > huber_m else 1.0
            # d proj / d X = [[1/z, 0, -x/z^2], [0, 1/z, -y/z^2]] (times depth); d X / d t = I, d X / d scale = S
            for axis, proj, residual in ((0, proj_x, residual_x), (1, proj_y, residual_y)):
                row[0], row[1] = f * (1 - axis), f * axis
                row[2] = -proj * f
                row[3] = (skel[j, axis] - proj * skel[j, 2]) * f
                _add_row(row, w[j] * w[j] * huber, residual, M, v)
        for a in range(4):
            M[a, a] += 1e-12
        _solve4(M, v, step)
        for k in range(4):
            theta[k] -= step[k]


def _fit_people(xy: np.ndarray, candidates: np.ndarray, w: np.ndarray, prior_rows: np.ndarray,
                prior_rhs: np.ndarray, measured: np.ndarray, iterations: int,
                huber_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Fits each of N people's skeleton: the linear fit of each candidate, the best (least cost) refined by
    Gauss-Newton steps.

    Args: xy (N, 17, 2) normalised coordinates; candidates (N, K, 17, 3) COCO skeletons [m, camera axes] (the
    template at K headings; for a ``measured`` (N,) person, its own skeleton, candidate 0 only); w (N, 17) [1/m];
    prior_rows (N, R, 4) and prior_rhs (N, R); ``iterations`` Gauss-Newton steps; ``huber_m`` [m].
    Returns theta (N, 4) = (t [m], scale) and the (N,) index of the best candidate.
    """
    N, K = candidates.shape[0], candidates.shape[1]
    theta = np.empty((N, 4))
    best = np.zeros(N, dtype=np.int64)
    M, v, row, trial = np.empty((4, 4)), np.empty(4), np.empty(4), np.empty(4)
    for n in range(N):
        least = np.inf
        for k in range(1 if measured[n] else K):
            cost = _linear_fit(xy[n], candidates[n, k], w[n], prior_rows[n], prior_rhs[n], M, v, row, trial)
            if k == 0 or cost < least:  # the first of equal costs, as argmin
                least, best[n] = cost, k
                theta[n] = trial
        _gauss_newton(xy[n], candidates[n, best[n]], w[n], prior_rows[n], prior_rhs[n], iterations, huber_m,
                      M, v, row, trial, theta[n])
    return theta, best


_solve4 = compiled(_solve4)
_add_row = compiled(_add_row)
_prior_residual = compiled(_prior_residual)
_linear_fit = compiled(_linear_fit)
_gauss_newton = compiled(_gauss_newton)
_fit_people = compiled(_fit_people)


def _up_and_floor(
    camera: PinholeCamera, floor: FloorPlane | None, up_world: np.ndarray | None
) -> tuple[np.ndarray, float | None]:
    """(3,) unit up direction in the camera frame, and the floor offset in the camera frame (None: no floor)."""
    if floor is not None:
        return floor_in_camera(camera, floor)
    if up_world is None:
        return np.array([0.0, -1.0, 0.0]), None
    up = camera.T_world_from_camera[:3, :3].T @ np.asarray(up_world, dtype=np.float64)
    return up / np.linalg.norm(up), None


@functools.lru_cache(maxsize=8)
def _templates(stature_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (17, 3) H36M and COCO standing templates [m, body frame] and (17,) COCO standing heights [m] at
    ``stature_m``, read-only: built once per stature, not once per frame."""
    arrays = standing_template_h36m(stature_m), standing_template_coco(stature_m), standing_heights_coco(stature_m)
    for array in arrays:
        array.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=64)
def _camera_frame(camera: PinholeCamera, floor: tuple[tuple[float, ...], float] | None,
                  up_world: tuple[float, ...] | None, headings: int) -> tuple[np.ndarray, float | None, np.ndarray]:
    """Per camera constants of a placement, computed once per camera, floor and up direction: `_up_and_floor`
    and the (K, 3, 3) rotations from the camera axes to the body frame of the K headings."""
    plane = None if floor is None else FloorPlane(np.array(floor[0]), floor[1])
    up, offset = _up_and_floor(camera, plane, None if up_world is None else np.array(up_world))
    to_camera = np.swapaxes(body_to_camera_rotations(up, np.arange(headings) * (2.0 * np.pi / headings)), -1, -2)
    for array in (up, to_camera):
        array.setflags(write=False)
    return up, offset, to_camera


def place_people(
    camera: PinholeCamera,
    keypoints_2d: np.ndarray,
    skeletons_h36m: np.ndarray | None = None,
    *,
    floor: FloorPlane | None = None,
    up_world: np.ndarray | None = None,
    options: PlacementOptions | None = None,
) -> Placement:
    """Place N people seen by ``camera`` in its frame [m].

    Args:
        camera: the camera (distortion is removed from the keypoints).
        keypoints_2d: (N, 17, 3) COCO-17 keypoints x, y [px], score.
        skeletons_h36m: (N, 17, 3) pelvis-relative Human3.6M-17 joints [m] in camera axes, or None for the
            upright template (a person whose skeleton has a NaN also gets the template).
        floor: the floor in the world frame (`camera.T_world_from_camera` places the camera in it).
        up_world: (3,) up direction in the world frame, orienting the template when there is no floor;
            default: the camera's -y axis (a level camera).
        options: `PlacementOptions`.

    Returns:
        A `Placement` of the N people.
    """
    keypoints_2d = np.asarray(keypoints_2d, dtype=np.float64).reshape(-1, 17, 3)
    return place_people_of_cameras([camera], np.zeros(len(keypoints_2d), dtype=np.int64), keypoints_2d,
                                   skeletons_h36m, floor=floor, up_world=up_world, options=options)


def place_people_of_cameras(
    cameras: Sequence[PinholeCamera],
    camera_index: np.ndarray,
    keypoints_2d: np.ndarray,
    skeletons_h36m: np.ndarray | None = None,
    *,
    floor: FloorPlane | None = None,
    up_world: np.ndarray | None = None,
    options: PlacementOptions | None = None,
) -> Placement:
    """`place_people` for N people seen by several cameras, in one batch: person n is placed from
    ``cameras[camera_index[n]]`` alone, in that camera's frame [m] (the same results as one `place_people` call
    per camera, at the cost of one)."""
    options = options or PlacementOptions()
    keypoints_2d = np.asarray(keypoints_2d, dtype=np.float64).reshape(-1, 17, 3)
    camera_index = np.asarray(camera_index, dtype=np.int64)
    N = keypoints_2d.shape[0]
    xy = np.full((N, 17, 2), np.nan)
    for c, camera in enumerate(cameras):
        mine = camera_index == c
        if mine.any():
            xy[mine] = camera.normalised_coordinates(keypoints_2d[mine, :, :2])
    score = np.where(np.all(np.isfinite(xy), axis=-1), np.nan_to_num(keypoints_2d[..., 2]), 0.0)
    confident = score >= max(options.min_joint_score, 1e-9)
    xy = np.where(confident[..., None], xy, 0.0)
    present, slot = np.unique(camera_index, return_inverse=True)  # the cameras that see someone (slot: which)
    K = options.headings
    floor_key = None if floor is None else (tuple(floor.normal_world.tolist()), float(floor.offset_m))
    up_key = None if up_world is None else tuple(np.asarray(up_world, dtype=np.float64).tolist())
    frames = [_camera_frame(cameras[c], floor_key, up_key, K) for c in (present if len(present) else [0])]
    up = np.stack([u for u, _, _ in frames])[slot]  # (N, 3) each person's camera's up direction
    with_floor = frames[0][1] is not None  # one floor (or none) for every camera
    floor_offset = np.array([o for _, o, _ in frames], dtype=np.float64)[slot] if with_floor else None
    method = options.method if with_floor else PlacementMethod.SKELETON

    measured = np.zeros(N, dtype=bool)
    if skeletons_h36m is not None:
        skeletons_h36m = np.asarray(skeletons_h36m, dtype=np.float64).reshape(N, 17, 3)
        measured = np.all(np.isfinite(skeletons_h36m), axis=(1, 2))
    # Candidate skeletons in camera axes: (N, K, 17, 3) H36M joints and the COCO keypoints they stand for.
    # (C, K, 3, 3): the template turned to each heading, in each camera's axes
    to_camera = np.stack([rotations for _, _, rotations in frames])
    template_h36m, template_coco, _ = _templates(options.stature_m)
    h36m = (template_h36m @ to_camera)[slot]
    template = template_coco if options.template_coco is None else options.template_coco
    coco = (template @ to_camera)[slot]
    if measured.any():
        h36m[measured] = skeletons_h36m[measured][:, None]
        coco[measured] = coco_from_h36m(skeletons_h36m[measured])[:, None]

    if method == PlacementMethod.FLOOR:
        used = confident & COCO_RIGID_WHEN_STANDING
        pelvis = _place_on_floor(xy, score, used, up, floor_offset, options)
        h36m_fit = np.where(measured[:, None, None], h36m[:, 0] + pelvis[:, None], np.nan)
        joints_fit = np.where(measured[:, None, None], coco[:, 0] + pelvis[:, None], np.nan)
        depth = _depth_nearest_axis(xy, pelvis, up)
    else:
        used = confident & np.where(measured[:, None], _FIT_JOINTS, COCO_RIGID_WHEN_STANDING)
        w = np.where(used, np.sqrt(score), 0.0) / options.lateral_noise_m  # rows in metres across the ray
        priors = _priors(N, up, floor_offset if method == PlacementMethod.SKELETON_FLOOR else None, options)
        theta, best = _fit_people(xy, coco, w, np.ascontiguousarray(priors[0]), priors[1], measured,
                                  options.iterations, options.huber_m)
        rows = np.arange(N)
        t, scale = theta[:, None, :3], theta[:, 3:, None]
        h36m_fit = scale * h36m[rows, best] + t
        joints_fit = scale * coco[rows, best] + t
        pelvis = h36m_fit[:, 0]
        depth = joints_fit[..., 2]
    num_joints = used.sum(axis=1)

    success = (num_joints >= options.min_joints) & np.all(np.isfinite(pelvis), axis=1)
    success &= np.where(used, depth > _MIN_DEPTH_M, True).all(axis=1) & (pelvis[:, 2] > _MIN_DEPTH_M)
    rays = np.concatenate([xy, np.ones((*xy.shape[:-1], 1))], axis=-1)
    fallback = np.where(measured[:, None, None], joints_fit, np.nan)
    joints = np.where((confident & (depth > _MIN_DEPTH_M))[..., None], rays * depth[..., None], fallback)
    projected = np.full((N, 17, 2), np.nan)
    for c, camera in enumerate(cameras):
        mine = camera_index == c
        if mine.any():
            projected[mine] = camera.project_camera(joints_fit[mine])
    with np.errstate(invalid="ignore"):
        joint_residual = vectors.norm(projected - keypoints_2d[..., :2])
    joint_residual = np.where(used & success[:, None], joint_residual, np.nan)
    finite = np.isfinite(joint_residual)
    with np.errstate(invalid="ignore", divide="ignore"):
        residual = np.sqrt(np.where(finite, joint_residual**2, 0.0).sum(axis=1) / finite.sum(axis=1))
    failed = ~success
    pelvis = np.where(failed[:, None], np.nan, pelvis)
    joints[failed] = np.nan
    h36m_fit = np.where(failed[:, None, None], np.nan, h36m_fit)
    residual[failed] = np.nan
    return Placement(pelvis, joints, h36m_fit, success, residual, joint_residual, num_joints, np.full(N, method.value))


def _place_on_floor(
    xy: np.ndarray,
    score: np.ndarray,
    used: np.ndarray,
    up: np.ndarray,
    floor_offset: np.ndarray,
    options: PlacementOptions,
) -> np.ndarray:
    """(N, 3) pelvis positions [m, camera frame] from the rays of the used keypoints meeting their standing heights
    (``up`` (N, 3) and ``floor_offset`` (N,): each person's camera's floor).

    Each ray r meets the plane n . p = offset + h at s = (offset + h) / (n . r); its horizontal position
    varies with the height error dh by dh / |n . r_unit| along the ray: weights score * (n . r_unit)^2.
    """
    rays = np.concatenate([xy, np.ones((*xy.shape[:-1], 1))], axis=-1)  # (N, 17, 3)
    n_dot = (rays @ up[:, :, None])[..., 0]
    heights = _templates(options.stature_m)[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (floor_offset[:, None] + heights) / n_dot
    ok = used & (s > _MIN_DEPTH_M) & (np.abs(n_dot) > 1e-6)
    points = rays * np.where(ok, s, 0.0)[..., None]
    # Horizontal component: remove the part along the up normal, then put the pelvis at its standing height.
    horizontal = points - (points @ up[:, :, None]) * up[:, None, :]
    weight = np.where(ok, score * n_dot**2 / np.sum(rays**2, axis=-1), 0.0)
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (weight[..., None] * horizontal).sum(axis=1) / total[:, None]
    centre[total <= 0] = np.nan
    return centre + (floor_offset + pelvis_height_m(options.stature_m))[:, None] * up


def _depth_nearest_axis(xy: np.ndarray, pelvis: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(N, 17) depths z [m] of the points of the rays (N, 17) closest to the vertical lines (along ``up`` (N, 3))
    through (N, 3) pelvis."""
    rays = np.concatenate([xy, np.ones((*xy.shape[:-1], 1))], axis=-1)
    # Closest point of s * r to p + a * up: minimise |s r - p - a up|^2 over s, a.
    r_up = (rays @ up[:, :, None])[..., 0]
    r_r = np.sum(rays**2, axis=-1)
    r_p = np.einsum("njk,nk->nj", rays, pelvis)
    p_up = np.einsum("nk,nk->n", pelvis, up)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (r_p - r_up * p_up[:, None]) / (r_r - r_up**2)
    return s  # z of s * r is s (r_z = 1)


def estimate_floor(
    joints_world: np.ndarray, up_world: np.ndarray | None = None, stature_m: float = DEFAULT_STATURE_M
) -> FloorPlane | None:
    """The floor under people assumed standing, from their (N, 17, 3) COCO-17 joints [m] in the world frame.

    Each person votes the median, over their placed head, torso and leg keypoints, of the keypoint's height
    along ``up_world`` (default +z) minus its standing height (`body_model.standing_heights_coco`); the
    floor offset is the median vote. Triangulated people make it a self-calibration; None without people.
    """
    up = np.array([0.0, 0.0, 1.0]) if up_world is None else np.asarray(up_world, dtype=np.float64)
    up = up / np.linalg.norm(up)
    joints = np.asarray(joints_world, dtype=np.float64).reshape(-1, 17, 3)
    votes = joints @ up - standing_heights_coco(stature_m)  # (N, 17)
    usable = np.isfinite(votes) & COCO_RIGID_WHEN_STANDING
    per_person = [float(np.median(v[u])) for v, u in zip(votes, usable, strict=True) if u.any()]
    if not per_person:
        return None
    return FloorPlane(up, float(np.median(per_person)))
