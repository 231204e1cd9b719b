"""How uncertain each fused joint is: a 3x3 covariance per joint [m^2] in the world frame.

Model (first order, independent views). A camera that sees a joint at depth ``d`` [m] along its ray pins the
joint across the ray to within

    sigma_lateral^2 = (keypoint_noise_px * d / f)^2 + lateral_noise_m^2

(pixel noise of the keypoint, plus where the detector puts a joint on the body), and tells nothing along the
ray. The information of a joint is the sum over the views it was placed from of ``(I - r r^T) /
sigma_lateral^2`` (``r``: the unit ray from the camera's centre to the joint); the covariance is its inverse:
two rays at a wide angle pin a joint in 3D, near-parallel rays leave it long along their common direction.

A joint placed from one camera only gets its depth from elsewhere, so an along-ray term
``r r^T / sigma_depth^2`` is added:

- in a single-camera person (placed by the skeleton and the floor, `geometry.placement`): ``sigma_depth =
  single_view_depth_noise * d`` (the skeleton's unknown scale, about 5 % of stature, moves it along the ray
  in proportion to its distance; posture and template mismatch add as much again);
- in a triangulated person (a keypoint only one camera of the group saw, back-projected at the depth of its
  nearest triangulated neighbour): ``sigma_depth = filled_depth_noise_m`` (a joint sits up to a bone's
  length off its neighbour's depth).

So a single-view joint is typically several times less certain along its ray than across it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orpose_ros.geometry.camera import PinholeCamera


@dataclass(frozen=True)
class UncertaintyOptions:
    """Noise levels of the joint uncertainty model (see module doc).

    Attributes:
        keypoint_noise_px: standard deviation of a keypoint in the image the calibration describes [px].
        lateral_noise_m: where a detector puts a joint on the body, across the ray [m] (a joint is ~0.1 m
            across).
        single_view_depth_noise: depth uncertainty of a single-camera person's joint, relative to its
            distance from the camera.
        filled_depth_noise_m: depth uncertainty of a joint that only one camera of a triangulated person saw [m].
    """

    keypoint_noise_px: float = 3.0
    lateral_noise_m: float = 0.05
    single_view_depth_noise: float = 0.08
    filled_depth_noise_m: float = 0.15

    def __post_init__(self) -> None:
        for name in ("keypoint_noise_px", "lateral_noise_m", "single_view_depth_noise", "filled_depth_noise_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


def joint_covariances(
    cameras: Sequence[PinholeCamera],
    joints: np.ndarray,
    joint_views: np.ndarray,
    triangulated: bool,
    options: UncertaintyOptions | None = None,
    keypoint_noise_px: float | None = None,
) -> np.ndarray:
    """(J, 3, 3) covariance of each joint in the world frame [m^2]; NaN where a joint is not placed.

    Args:
        cameras: the C cameras the person was seen by (at the detections' image size).
        joints: (J, 3) joints in the world frame [m], NaN where not placed.
        joint_views: (C, J) bool, which cameras each joint was placed from.
        triangulated: whether the person was triangulated (else: placed from one camera).
        options: `UncertaintyOptions`.
        keypoint_noise_px: overrides ``options.keypoint_noise_px`` (e.g. coarser keypoints of shrunk images).
    """
    options = options or UncertaintyOptions()
    noise_px = options.keypoint_noise_px if keypoint_noise_px is None else keypoint_noise_px
    joints = np.asarray(joints, dtype=np.float64)
    joint_views = np.asarray(joint_views, dtype=bool)
    J = len(joints)
    information = np.zeros((J, 3, 3))
    single = joint_views.sum(axis=0) == 1
    eye = np.eye(3)
    for camera, sees in zip(cameras, joint_views, strict=True):
        ray = joints - camera.centre_world
        distance = np.linalg.norm(ray, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = ray / distance
        depth = camera.to_camera(joints)[:, 2]
        focal = float(np.sqrt(camera.K[0, 0] * camera.K[1, 1]))
        lateral = (noise_px * depth / focal) ** 2 + options.lateral_noise_m**2
        along = r[:, :, None] * r[:, None, :]  # (J, 3, 3)
        view = (eye - along) / lateral[:, None, None]
        if triangulated:
            depth_var = np.full(J, options.filled_depth_noise_m**2)
        else:
            depth_var = (options.single_view_depth_noise * depth) ** 2
        view = view + np.where(single[:, None, None], along / depth_var[:, None, None], 0.0)
        information += np.where((sees & (depth > 0))[:, None, None], view, 0.0)
    covariance = np.full((J, 3, 3), np.nan)
    ok = np.all(np.isfinite(joints), axis=-1) & (np.linalg.matrix_rank(information) == 3)
    covariance[ok] = np.linalg.inv(information[ok])
    return covariance


def largest_sigma_m(covariance: np.ndarray) -> np.ndarray:
    """(...,) standard deviation along the least certain direction [m] of (..., 3, 3) covariances; NaN stays NaN."""
    covariance = np.asarray(covariance, dtype=np.float64)
    finite = np.all(np.isfinite(covariance), axis=(-2, -1))
    out = np.full(covariance.shape[:-2], np.nan)
    out[finite] = np.sqrt(np.maximum(np.linalg.eigvalsh(covariance[finite])[..., -1], 0.0))
    return out
